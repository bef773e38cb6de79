import type { ActionOutcome } from "./metrics-port.js";

const RECENT_CALLS = 100;

export interface RecentCall {
  action: string;
  /** Start time, ms since the epoch. */
  at: number;
  durationMs: number;
  outcome: ActionOutcome;
  code?: string;
}

/** A ring of an instance's most recent action calls, allocated on the first one. */
export class CallLog {
  private ring: Array<RecentCall | undefined> | undefined;
  private count = 0;

  record(action: string, at: number, durationMs: number, outcome: ActionOutcome, code?: string): void {
    const ring = (this.ring ??= new Array(RECENT_CALLS));
    ring[this.count++ % RECENT_CALLS] = code ? { action, at, durationMs, outcome, code } : { action, at, durationMs, outcome };
  }

  /** Oldest first. */
  recent(): RecentCall[] {
    const n = Math.min(this.count, RECENT_CALLS);
    const out: RecentCall[] = [];
    for (let i = this.count - n; i < this.count; i++) out.push(this.ring![i % RECENT_CALLS]!);
    return out;
  }
}
