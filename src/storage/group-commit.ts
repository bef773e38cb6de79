import type { StoreWrite } from "./types.js";

/**
 * What the committer knows about a batch beyond its writes. `alone`: the pipeline was idle and
 * this batch is one call's writes, so a caller waits on this commit and no other commit waits; a
 * store may then commit on the calling thread (SqliteStore does) and spare the caller a hand-off
 * to another thread and back.
 */
export interface CommitHint {
  alone: boolean;
}

/** The store the committer writes to: a `StorageDriver`, which may ignore the hint. Nothing returned: durable already. */
export interface CommitTarget {
  write(batch: readonly StoreWrite[], hint?: CommitHint): Promise<void> | void;
}

const ALONE: CommitHint = { alone: true };

/** Told once per write when its batch is durable, for per-actor-type commit metrics. */
export interface CommitObserver {
  committed(bytes: number, seconds: number): void;
}

/** One `enqueue` call: its writes land together, and its promise settles on its own. */
interface Ticket {
  writes: readonly StoreWrite[];
  observer: CommitObserver | undefined;
  /** Whose writes these are; `discard(owner)` drops them. Undefined: nobody can discard them. */
  owner: object | undefined;
  enqueuedAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The discarded writes were never attempted: their promise says so, rather than "durable". */
export class CommitDiscarded extends Error {
  constructor() {
    super("The write was discarded before it was attempted: an earlier commit of its actor failed");
    this.name = "CommitDiscarded";
  }
}

/**
 * Groups writes that arrive while a commit is being prepared or is in flight into one
 * store transaction, so many concurrent actions share one fsync. Batches run one at a
 * time, which lets a failed batch's owners drop their queued writes before they land.
 * Each call has its own promise: a discarded call is rejected, never acknowledged.
 */
export class GroupCommitter {
  private next: Ticket[] = [];
  private flushing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly store: CommitTarget) {}

  /**
   * Resolves when the writes are durable; rejects if their batch failed (nothing of it
   * applied) or they were discarded. The writes of one call always land in the same batch.
   */
  enqueue(writes: StoreWrite | readonly StoreWrite[], observer?: CommitObserver, owner?: object): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Callers hand over their array and never touch it again: no copy on the hot path.
      const list: readonly StoreWrite[] = Array.isArray(writes) ? writes : [writes as StoreWrite];
      this.next.push({ writes: list, observer, owner, enqueuedAt: performance.now(), resolve, reject });
      if (!this.flushing && this.next.length === 1) setImmediate(() => void this.flush());
    });
  }

  /** Drops an owner's not-yet-started writes (its in-memory state was abandoned) and rejects them. */
  discard(owner: object): void {
    const kept: Ticket[] = [];
    for (const t of this.next) {
      if (t.owner === owner) t.reject(new CommitDiscarded());
      else kept.push(t);
    }
    this.next = kept;
  }

  /** Resolves once every write enqueued so far has been attempted. */
  drain(): Promise<void> {
    if (!this.flushing && this.next.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    // Only the first batch after an idle spell can be alone: later ones queued behind a commit.
    let idle = true;
    while (this.next.length > 0) {
      const tickets = this.next;
      this.next = [];
      const hint = idle && tickets.length === 1 ? ALONE : undefined;
      idle = false;
      try {
        const pending = this.store.write(coalesce(tickets), hint);
        if (pending) await pending;
        const now = performance.now();
        for (const t of tickets) {
          if (t.observer) for (const w of t.writes) if (w.kind === "state") t.observer.committed(w.state.byteLength, (now - t.enqueuedAt) / 1000);
          t.resolve();
        }
      } catch (err) {
        for (const t of tickets) t.reject(err);
      }
      // Let rejection handlers (which may discard writes of the failed actors) run before the
      // next batch is taken. With nothing queued the pipeline is idle at once: a call arriving
      // next finds it so, and may commit alone (see CommitHint).
      if (this.next.length > 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** One batch's writes in order; of an actor's state snapshots only the last is written. */
function coalesce(tickets: readonly Ticket[]): readonly StoreWrite[] {
  if (tickets.length === 1) return tickets[0]!.writes;
  const out: StoreWrite[] = [];
  const stateAt = new Map<string, number>();
  for (const t of tickets) {
    for (const w of t.writes) {
      if (w.kind === "state") {
        const at = stateAt.get(w.actorId);
        // A later snapshot replaces the earlier one in place: it includes every earlier change.
        if (at !== undefined) {
          out[at] = w;
          continue;
        }
        stateAt.set(w.actorId, out.length);
      }
      out.push(w);
    }
  }
  return out;
}
