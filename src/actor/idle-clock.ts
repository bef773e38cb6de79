/** Something the idle clock wakes once the deadline it was armed with has passed. */
export interface IdleSleeper {
  idleDue(): void;
}

/** The sleepers due at one instant, and the one timer that wakes them. */
export interface IdleBucket {
  readonly at: number;
  readonly sleepers: Set<IdleSleeper>;
  timer: NodeJS.Timeout | undefined;
}

/** setTimeout's longest delay. */
const MAX_DELAY = 2 ** 31 - 1;

/** The clock's time: whole milliseconds, rounded up, so a deadline counted from it is never early. */
export function idleNow(): number {
  return Math.ceil(performance.now());
}

/**
 * The idle-sleep timers of one actor type's instances. One timer per bucket of deadlines
 * instead of one per idle actor: a Node Timeout and its closure cost about 250 bytes per
 * actor, a Set entry about 30. A deadline rounds up to its bucket's instant, so a sleeper is
 * woken late by at most a sixteenth of the timeout (and at most a second), never early.
 * Each registry's types have their own clock: nothing outlives the runtime that armed it.
 */
export class IdleClock {
  private readonly buckets = new Map<number, IdleBucket>();
  /** A power of two near a sixteenth of the timeout, 1 ms to 1,024 ms. */
  private readonly grain: number;

  constructor(timeoutMs: number) {
    let g = 1;
    while (g < 1024 && g * 2 <= timeoutMs / 16) g *= 2;
    this.grain = g;
  }

  /** Wakes `sleeper` at `deadline` (idleNow() time) or somewhat later; returns what cancels it. */
  arm(sleeper: IdleSleeper, deadline: number): IdleBucket {
    const at = Math.ceil(deadline / this.grain) * this.grain;
    let bucket = this.buckets.get(at);
    if (!bucket) {
      bucket = { at, sleepers: new Set(), timer: undefined };
      this.buckets.set(at, bucket);
      // Node may fire a timer a little before performance.now() says it is due, and fires one longer
      // than its maximum at once: sleepers check their deadline again either way.
      const delay = Math.min(MAX_DELAY, Math.max(1, Math.ceil(at - performance.now())));
      bucket.timer = setTimeout(() => this.fire(bucket!), delay).unref();
    }
    bucket.sleepers.add(sleeper);
    return bucket;
  }

  cancel(bucket: IdleBucket, sleeper: IdleSleeper): void {
    if (!bucket.sleepers.delete(sleeper) || bucket.sleepers.size > 0) return;
    clearTimeout(bucket.timer);
    if (this.buckets.get(bucket.at) === bucket) this.buckets.delete(bucket.at);
  }

  private fire(bucket: IdleBucket): void {
    bucket.timer = undefined;
    if (this.buckets.get(bucket.at) === bucket) this.buckets.delete(bucket.at);
    // A sleeper armed again from here lands in a new bucket; one cancelled meanwhile is skipped.
    for (const s of bucket.sleepers) {
      bucket.sleepers.delete(s);
      s.idleDue();
    }
  }
}
