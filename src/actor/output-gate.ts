import { errors, TroupeError } from "../common/errors.js";
import type { CommitObserver, GroupCommitter } from "../storage/group-commit.js";
import type { StoredAlarm, StoreWrite } from "../storage/types.js";
import type { MessageOutcome } from "./queue.js";
import { encodeRedo, redoMessageOutcome, type TurnDatabase } from "./sql-turn.js";
import { encodeState } from "./state-codec.js";
import type { Turn } from "./turn.js";

/** What the output gate needs from its instance. */
export interface OutputGateHost {
  readonly id: string;
  readonly type: { readonly commitObserver: CommitObserver | undefined };
  readonly committer: GroupCommitter;
  /** The actor's SQL database, when its type declares one. */
  readonly turnDb: TurnDatabase | undefined;
  /** The live state, encoded at each commit point. */
  readonly state: unknown;
  /** True once the instance was abandoned or stopped. */
  readonly gone: boolean;
  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void;
  /** A queue message reached its end: tell a sender waiting on it (a repeat is ignored). */
  messageSettled(seq: number, outcome: MessageOutcome): void;
  /** The state's bytes changed (for onStateChange). */
  stateChanged(): void;
  /** A commit failed: the instance must be abandoned. */
  commitFailed(err: unknown): void;
}

/**
 * An instance's staged writes and commits, and the gate that holds replies and events until
 * what they reflect is durable. Each turn's commit becomes the *barrier* later replies wait on;
 * a failed commit poisons the gate, so replies gated after it fail too, and drops the writes
 * queued after it (they were built on it) without acknowledging them.
 */
export class OutputGate {
  /** The newest queued commit; replies wait for it. */
  barrier: Promise<void> | undefined;
  /** The last snapshot known committed (or about to be, once the barrier resolves). */
  lastBytes: Uint8Array;
  private poisoned = false;
  // Made on the first write of their kind: most actors never use KV or alarms (an empty Map is about 200 bytes).
  private kv: Map<string, Uint8Array | null> | undefined;
  private alarms: Map<string, StoredAlarm | null> | undefined;

  constructor(
    private readonly host: OutputGateHost,
    snapshot: Uint8Array,
  ) {
    this.lastBytes = snapshot;
  }

  /** KV writes staged and not yet known durable (hex key -> value, null = deleted); undefined before the first. */
  get kvOverlay(): ReadonlyMap<string, Uint8Array | null> | undefined {
    return this.kv;
  }

  /** Alarm changes staged and not yet known durable; undefined before the first. */
  get stagedAlarms(): ReadonlyMap<string, StoredAlarm | null> | undefined {
    return this.alarms;
  }

  /**
   * Encodes the state; when it changed or the turn staged writes (KV, alarms), queues one
   * commit for all of it and makes that commit the new barrier.
   */
  commitPoint(turn: Turn): Promise<void> | undefined {
    const bytes = encodeState(this.host.state);
    const stateChanged = !equalBytes(bytes, this.lastBytes);
    const staged = turn.writes;
    const settle = turn.settle;
    if (!stateChanged && staged.length === 0) return this.barrier;
    if (stateChanged) this.lastBytes = bytes;
    // The state after the turn's other writes: a first turn's directory entry must land before its state.
    const writes: StoreWrite[] = stateChanged ? [...staged, { kind: "state", actorId: this.host.id, state: bytes }] : staged;
    const commit = this.enqueue(writes, () => {
      for (const f of settle) f();
    });
    if (stateChanged) this.host.stateChanged();
    return commit;
  }

  /**
   * A turn that used `c.db`: once every earlier commit is durable, its SQL commits together
   * with a redo record of its other writes, and that commit is the turn's durability point.
   * The store applies the same writes afterwards; if that fails, the next wake applies them
   * from the redo record, so the turn is never half-applied and its reply need not wait.
   */
  async commitSqlTurn(turn: Turn): Promise<void> {
    if (this.barrier) {
      try {
        await this.barrier;
      } catch (err) {
        throw errors.commitFailed(err);
      }
    }
    // The wait above let other code run: the instance may have been abandoned meanwhile.
    if (this.host.gone) throw errors.actorRestarted();
    if (this.poisoned) throw errors.commitFailed();
    const bytes = encodeState(this.host.state);
    const stateChanged = !equalBytes(bytes, this.lastBytes);
    const writes: StoreWrite[] = stateChanged ? [...turn.writes, { kind: "state", actorId: this.host.id, state: bytes }] : [...turn.writes];
    // Only a turn that ran SQL commits here, so the type declares a database.
    const turnDb = this.host.turnDb!;
    let seq: number;
    try {
      seq = turnDb.commitWithRedo(encodeRedo(writes, turn.outcomes));
    } catch (err) {
      throw err instanceof TroupeError && err.code !== "sql_error" ? err : errors.commitFailed(err);
    }
    if (stateChanged) this.lastBytes = bytes;
    // The outcomes are durable in the redo now: a sender need not wait for the store's apply,
    // which a refusing store may retry for a long time (the next wake applies it).
    for (const o of turn.outcomes) this.host.messageSettled(o[0], redoMessageOutcome(o));
    writes.push({ kind: "sqlApplied", actorId: this.host.id, seq });
    this.enqueue(writes, () => {
      turnDb.applied(seq);
      // If this commit fails, the redo replay arms the alarms and counts the messages instead.
      for (const f of turn.settle) f();
    });
    if (stateChanged) this.host.stateChanged();
  }

  /** Commits writes on their own as the newest barrier (a timed-out queue attempt's fate). */
  commitAlone(writes: StoreWrite[], settle: ReadonlyArray<() => void>, onError: (err: unknown) => void): void {
    const commit = this.host.committer.enqueue(writes, undefined, this);
    this.barrier = commit;
    commit.then(() => settle.forEach((f) => f()), onError);
  }

  private enqueue(writes: StoreWrite[], settled: () => void): Promise<void> {
    const commit = this.host.committer.enqueue(writes, this.host.type.commitObserver, this);
    this.barrier = commit;
    commit.then(
      () => {
        if (this.barrier === commit) this.barrier = undefined;
        settled();
      },
      (err) => {
        if (this.barrier === commit) this.barrier = undefined;
        if (this.poisoned) return;
        this.poisoned = true;
        // Writes queued after the failed one were built on it: they must not land, nor be
        // acknowledged, even when the instance was abandoned meanwhile (a timeout).
        this.host.committer.discard(this);
        if (!this.host.gone) this.host.commitFailed(err);
      },
    );
    return commit;
  }

  /** Waits for `barrier` (if any) before `send`; a failed or poisoned commit calls `fail` instead. */
  gate(barrier: Promise<void> | undefined, send: () => void, fail: (err: unknown) => void): void {
    if (!barrier) {
      send();
      return;
    }
    barrier.then(
      () => (this.poisoned ? fail(errors.commitFailed()) : send()),
      (err) => fail(errors.commitFailed(err)),
    );
  }

  /** Stages a write with `turn`; `overlayKey` also makes a KV write visible to reads. */
  stage(turn: Turn, write: StoreWrite, overlayKey?: string, overlayValue?: Uint8Array | null): void {
    turn.addWrite(write);
    if (overlayKey === undefined) return;
    this.trackOverlay(turn, (this.kv ??= new Map()), overlayKey, overlayValue!);
  }

  /** Stages an alarm, or with null its cancellation; the scheduler hears once it is durable. */
  stageAlarm(turn: Turn, id: string, alarm: StoredAlarm | null): void {
    turn.addWrite(alarm ? { kind: "alarmSet", actorId: this.host.id, alarm } : { kind: "alarmDelete", actorId: this.host.id, alarmId: id });
    this.trackOverlay(turn, (this.alarms ??= new Map()), id, alarm);
    turn.addSettle(() => this.host.alarmsCommitted([[id, alarm]]));
  }

  /** Undoes what `turn` staged (its overlay entries) and forgets its writes. */
  undo(turn: Turn): void {
    for (let i = turn.undo.length - 1; i >= 0; i--) turn.undo[i]!();
    turn.clear();
  }

  /** Resolves once every commit queued so far has settled (success or failure). */
  async settled(): Promise<void> {
    for (let b = this.barrier; b; b = this.barrier === b ? undefined : this.barrier) await b.catch(() => {});
  }

  /** Sets an overlay entry with an undo for rollback and a cleanup for when it is durable. */
  private trackOverlay<V>(turn: Turn, map: Map<string, V>, key: string, value: V): void {
    const had = map.has(key);
    const prev = map.get(key);
    turn.addUndo(() => (had ? map.set(key, prev as V) : map.delete(key)));
    map.set(key, value);
    turn.addSettle(() => {
      if (map.get(key) === value) map.delete(key);
    });
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
