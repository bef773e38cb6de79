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

/**
 * A ring of an instance's most recent action calls. It grows with the calls, up to its size, so a
 * million actors that each took one call hold one entry each, not a hundred slots.
 */
export class CallLog {
  private ring: RecentCall[] | undefined;
  private count = 0;

  record(action: string, at: number, durationMs: number, outcome: ActionOutcome, code?: string): void {
    const entry: RecentCall = code ? { action, at, durationMs, outcome, code } : { action, at, durationMs, outcome };
    const ring = this.ring;
    // `[entry]` holds one slot; a push onto [] would reserve seventeen (about 130 bytes) for an actor called once.
    if (!ring) this.ring = [entry];
    else if (ring.length < RECENT_CALLS) ring.push(entry);
    else ring[this.count % RECENT_CALLS] = entry;
    this.count++;
  }

  /** Oldest first. */
  recent(): RecentCall[] {
    const n = Math.min(this.count, RECENT_CALLS);
    const out: RecentCall[] = [];
    for (let i = this.count - n; i < this.count; i++) out.push(this.ring![i % RECENT_CALLS]!);
    return out;
  }
}
