import type { ActorStore, StoreWrite } from "./types.js";

/** Told once per write when its batch is durable, for per-actor-type commit metrics. */
export interface CommitObserver {
  committed(bytes: number, seconds: number): void;
}

interface Pending {
  write: StoreWrite;
  observer: CommitObserver | undefined;
  enqueuedAt: number;
}

interface Batch {
  entries: Pending[];
  /** Latest state write per actor: later snapshots replace earlier ones in the same batch. */
  stateIndex: Map<string, number>;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Groups writes that arrive while a commit is being prepared or is in flight into one
 * store transaction, so many concurrent actions share one fsync. Batches run one at a
 * time, which lets a failed batch's actors drop their queued writes before they land.
 */
export class GroupCommitter {
  private next: Batch | undefined;
  private flushing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly store: ActorStore) {}

  /**
   * Resolves when the writes are durable; rejects if their batch failed (nothing of it
   * applied). The writes of one call always land in the same batch. `observer` hears about
   * the state write.
   */
  enqueue(writes: StoreWrite | readonly StoreWrite[], observer?: CommitObserver): Promise<void> {
    const batch = (this.next ??= this.newBatch());
    const wasEmpty = batch.entries.length === 0;
    const now = performance.now();
    for (const write of Array.isArray(writes) ? writes : [writes as StoreWrite]) {
      const entry: Pending = { write, observer: write.kind === "state" ? observer : undefined, enqueuedAt: now };
      if (write.kind === "state") {
        const at = batch.stateIndex.get(write.actorId);
        if (at !== undefined) {
          // A later snapshot of the same actor replaces the earlier one in this batch.
          batch.entries[at] = { ...entry, enqueuedAt: batch.entries[at]!.enqueuedAt };
          continue;
        }
        batch.stateIndex.set(write.actorId, batch.entries.length);
      }
      batch.entries.push(entry);
    }
    if (!this.flushing && wasEmpty && batch.entries.length > 0) setImmediate(() => void this.flush());
    return batch.promise;
  }

  /** Removes an actor's not-yet-started writes (its in-memory state was abandoned). */
  discard(actorId: string): void {
    const batch = this.next;
    if (!batch) return;
    batch.entries = batch.entries.filter((e) => writeActor(e.write) !== actorId);
    batch.stateIndex.clear();
    batch.entries.forEach((e, i) => e.write.kind === "state" && batch.stateIndex.set(e.write.actorId, i));
  }

  /** Resolves once every write enqueued so far has been attempted. */
  drain(): Promise<void> {
    if (!this.flushing && !this.next) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    while (this.next) {
      const batch = this.next;
      this.next = undefined;
      if (batch.entries.length === 0) {
        batch.resolve();
        continue;
      }
      try {
        await this.store.write(batch.entries.map((e) => e.write));
        const now = performance.now();
        for (const e of batch.entries) if (e.observer && e.write.kind === "state") e.observer.committed(e.write.state.byteLength, (now - e.enqueuedAt) / 1000);
        batch.resolve();
      } catch (err) {
        batch.reject(err);
      }
      // Let rejection handlers (which may discard writes of the failed actors) run first.
      await new Promise<void>((r) => setImmediate(r));
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private newBatch(): Batch {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch nobody awaits must not crash the process with an unhandled rejection.
    promise.catch(() => {});
    return { entries: [], stateIndex: new Map(), promise, resolve, reject };
  }
}

function writeActor(w: StoreWrite): string {
  return w.kind === "create" ? w.record.id : w.actorId;
}
