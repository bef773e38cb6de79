import type { Logger } from "pino";
import { errors, TroupeError, UserError } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { ActorStore, StoredAlarm, StoreWrite } from "../storage/types.js";
import { ActorKv, type KvOp } from "./kv.js";
import { ActorSchedule } from "./schedule.js";
import { ActorSql, TurnDatabase } from "./sql.js";
import { RawHandlers } from "./raw-handlers.js";
import { ActorQueues, type MessageOutcome } from "./queue.js";
import { ActionContext, ActorContext } from "./context.js";
import { Conn, type ConnTransport } from "./conn.js";
import type { ActorType } from "./actor-type.js";
import type { ActionMetrics, ActionOutcome, KvOpMetrics, StopReason } from "./metrics-port.js";
import { cbor, decodeState, encodeState } from "./state-codec.js";

/** What an instance needs from the manager that owns it. */
export interface InstanceHost {
  readonly committer: GroupCommitter;
  /** An in-process client for calling other actors (`c.client()`). */
  client(callerId: string): unknown;
  /** A queue message reached its end; a sender may be waiting for it. */
  messageSettled(seq: number, outcome: MessageOutcome): void;
  readonly store: ActorStore;
  readonly logger: Logger;
  /** Committed alarms of an actor, from the registry-wide scheduler. */
  alarmsOf(actorId: string): StoredAlarm[];
  /** Alarm changes of one commit are durable: arm or disarm them. */
  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void;
  /** Begins unloading the instance; the manager routes new calls to a fresh one afterwards. */
  stop(instance: ActorInstance, reason: Exclude<StopReason, "crash">): void;
  /** The instance was abandoned; calls that never started run again on a fresh instance. */
  crashed(instance: ActorInstance, pending: Task[], settled: Promise<void>): void;
}

/** One unit of work in the actor's inbox. `run` takes the instance so a task can move to a fresh one. */
export interface Task {
  label: string;
  run(instance: ActorInstance): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** Set for actions: drives the timeout and the per-action metrics. */
  action?: { metrics: ActionMetrics | undefined; timeoutMs: number } | undefined;
  /** Tasks from a connection die with it; stateless tasks can be retried on a fresh instance. */
  conn?: Conn | undefined;
  /** Internal tasks (hooks while stopping) are accepted after new work is refused. */
  internal?: boolean;
  /** Stages writes with the task whatever its outcome (an alarm's deletion, a message's fate). */
  finalWrites?: (instance: ActorInstance, ok: boolean, output: unknown, error: unknown) => void;
  /** Never move to a fresh instance after a crash (the fresh one reloads the work itself). */
  noRequeue?: boolean;
}

type Status = "ready" | "stopping" | "stopped" | "crashed";

const TIMED_OUT = Symbol("timed out");
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
 * A live actor: its state, its inbox and its output gate.
 *
 * Turns: tasks run one at a time in arrival order (unless the type is reentrant).
 * Output gate: a reply or event leaves only after every state change made before it is
 * durable. After each turn the state is encoded; if the bytes changed, a commit is queued
 * and becomes the barrier that later replies wait on. The next turn does not wait for the
 * commit, so commits of many turns group into one transaction.
 * Atomic actions: a turn that throws is rolled back to the last snapshot.
 */
export class ActorInstance {
  state: unknown;
  vars: unknown;
  readonly conns = new Map<string, Conn>();
  status: Status = "ready";

  private readonly inbox: Task[] = [];
  private running = 0;
  private lastBytes: Uint8Array;
  /** The newest queued commit; replies wait for it. */
  private barrier: Promise<void> | undefined;
  /** Set when a commit failed: replies gated on later commits must fail too. */
  private poisoned = false;
  /** Events emitted during the current (non-reentrant) turn, released with its commit. */
  private outbox: Array<() => void> | undefined;
  /** KV writes staged and not yet known durable (hex key -> value, null = deleted). */
  readonly kvOverlay = new Map<string, Uint8Array | null>();
  /** Alarm changes staged and not yet known durable. */
  readonly stagedAlarms = new Map<string, StoredAlarm | null>();
  /** Writes of the current turn, and how to undo or settle their overlay entries. */
  private turnWrites: StoreWrite[] = [];
  private turnUndo: Array<() => void> = [];
  private turnSettle: Array<() => void> = [];
  /** Present when the actor type declares queues. */
  readonly queues: ActorQueues | undefined;
  private _kv: ActorKv | undefined;
  private _sql: ActorSql | undefined;
  private readonly turnDb: TurnDatabase;
  private _schedule: ActorSchedule | undefined;
  private wantSleep = false;
  private readonly drainWaiters: Array<() => void> = [];
  private wantDestroy = false;
  private lastActivity = performance.now();
  private sleepTimer: NodeJS.Timeout | undefined;
  private _log: Logger | undefined;
  private readonly ctx: ActorContext<any, any, any, any>;
  private readonly stoppedSignal: { promise: Promise<void>; resolve: () => void };

  constructor(
    readonly type: ActorType,
    readonly id: string,
    readonly key: readonly string[],
    state: unknown,
    stateBytes: Uint8Array,
    private readonly host: InstanceHost,
  ) {
    this.state = state;
    this.lastBytes = stateBytes;
    this.ctx = new ActorContext(this);
    this.turnDb = new TurnDatabase(host.store, id, type.config.db?.migrations ?? []);
    this.raw = new RawHandlers({
      type,
      ctx: this.ctx,
      log: this.log,
      run: (label, fn, internal) => this.runHook(label, fn, internal),
      runRequest: (fn) => new Promise((resolve, reject) => this.enqueue({ label: "onRequest", run: fn, resolve, reject, noRequeue: true })),
      emit: (send) => this.emit(send),
      socketClosed: () => {
        if (this.status === "ready") this.afterTurn();
      },
    });
    this.queues = type.queues.size === 0 ? undefined : new ActorQueues({
      id,
      actorName: type.name,
      specs: type.queues,
      metrics: type.metrics?.queues,
      runHandler: (label, run, finish) =>
        this.enqueue({
          label,
          run: (inst) => run(new ActionContext(inst, undefined)),
          resolve: () => {},
          reject: () => {},
          finalWrites: (_inst, ok, output, error) => finish(ok, output, error),
          noRequeue: true,
        }),
      stageWith: (write, undo, settle) => {
        this.turnWrites.push(write);
        this.turnUndo.push(undo);
        this.turnSettle.push(settle);
      },
      messageSettled: (seq, outcome) => host.messageSettled(seq, outcome),
      log: this.log,
    });
    let resolve!: () => void;
    this.stoppedSignal = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  get name(): string {
    return this.type.name;
  }

  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.type.name, actorId: this.id }));
  }

  get store(): ActorStore {
    return this.host.store;
  }

  /** `c.client()`: calls other actors of this registry without going through HTTP. */
  client(): unknown {
    return this.host.client(this.id);
  }

  /** True while a turn runs on a non-reentrant actor: a call to itself now would deadlock. */
  get busyWithTurn(): boolean {
    return this.running > 0 && !this.type.options.reentrant;
  }

  get kv(): ActorKv {
    return (this._kv ??= new ActorKv(this));
  }

  get schedule(): ActorSchedule {
    return (this._schedule ??= new ActorSchedule({
      id: this.id,
      name: this.type.name,
      hasAction: (n) => this.type.actions.has(n),
      stageAlarm: (id, alarm) => this.stageAlarm(id, alarm),
      stagedAlarms: this.stagedAlarms,
      committedAlarms: () => this.host.alarmsOf(this.id),
    }));
  }

  get db(): ActorSql {
    return (this._sql ??= new ActorSql({ database: () => this.turnDb.forStatement(), sqlMetrics: this.type.metrics?.sql }));
  }

  /** Closes the database when the instance unloads. */
  releaseDatabase(): void {
    this.turnDb.release();
  }

  get kvMetrics(): ((op: KvOp) => KvOpMetrics) | undefined {
    return this.type.metrics?.kv;
  }

  /** The context handed to lifecycle hooks. */
  get context(): ActorContext<any, any, any, any> {
    return this.ctx;
  }

  /** Resolves once the instance is fully unloaded (sleep, destroy, shutdown or crash). */
  get stopped(): Promise<void> {
    return this.stoppedSignal.promise;
  }

  get inboxDepth(): number {
    return this.inbox.length;
  }

  get idle(): boolean {
    return this.running === 0 && this.inbox.length === 0 && this.conns.size === 0 && this.raw.sockets.size === 0 && !this.queues?.hasHandlerWork;
  }

  /** A ring of the most recent action calls, for the inspector (gone when the actor sleeps). */
  private readonly callRing: Array<RecentCall | undefined> = new Array(RECENT_CALLS);
  private callCount = 0;

  private recordCall(action: string, startedAt: number, durationMs: number, outcome: ActionOutcome, code?: string): void {
    this.callRing[this.callCount++ % RECENT_CALLS] = code ? { action, at: startedAt, durationMs, outcome, code } : { action, at: startedAt, durationMs, outcome };
  }

  /** The recent calls, oldest first. */
  get recentCalls(): RecentCall[] {
    const n = Math.min(this.callCount, RECENT_CALLS);
    const out: RecentCall[] = [];
    for (let i = this.callCount - n; i < this.callCount; i++) out.push(this.callRing[i % RECENT_CALLS]!);
    return out;
  }

  /** Raw HTTP and WebSocket handlers (onRequest, onWebSocket). */
  readonly raw: RawHandlers;

  // ---- turns -------------------------------------------------------------------------

  /** Queues a task for its turn; the promise settles after the output gate opens. */
  enqueue(task: Task): void {
    if (this.status !== "ready" && !(this.status === "stopping" && task.internal)) {
      task.reject(this.status === "crashed" ? errors.actorRestarted() : errors.stopping());
      return;
    }
    this.inbox.push(task);
    this.type.metrics?.inboxDepth.inc();
    this.pump();
  }

  /** Runs an action by name; used by HTTP, WebSocket and in-process callers. */
  callAction(actionName: string, args: unknown[], conn?: Conn): Promise<unknown> {
    const fn = this.type.actions.get(actionName);
    if (!fn) return Promise.reject(errors.actionNotFound(this.type.name, actionName));
    return new Promise((resolve, reject) => {
      this.enqueue({
        label: actionName,
        run: (inst) => fn(new ActionContext(inst, conn), ...args),
        resolve,
        reject,
        action: { metrics: this.type.metrics?.actions.get(actionName), timeoutMs: this.type.options.actionTimeoutMs },
        conn,
      });
    });
  }

  /**
   * Fires an alarm as a turn. Its deletion commits with the action's changes, or alone if the
   * action throws, so an alarm fires once. Resolves with the outcome; rejects when the turn
   * could not complete (timeout, commit failure, restart), so the scheduler retries later.
   */
  runAlarm(alarm: StoredAlarm, onStart?: () => void): Promise<"ok" | "error"> {
    const fn = this.type.actions.get(alarm.action);
    return new Promise((resolve, reject) => {
      this.enqueue({
        label: `alarm:${alarm.action}`,
        run: (inst) => {
          onStart?.();
          if (!fn) throw errors.actionNotFound(this.type.name, alarm.action);
          return fn(new ActionContext(inst, undefined), ...(cbor.decode(alarm.args) as unknown[]));
        },
        resolve: () => resolve("ok"),
        reject: (err) => {
          const code = err instanceof TroupeError ? err.code : "";
          if (["state_commit_failed", "actor_restarted", "action_timed_out", "server_stopping"].includes(code)) reject(err);
          else {
            this.log.error({ err, action: alarm.action, alarmId: alarm.id }, "scheduled action failed");
            resolve("error");
          }
        },
        action: { metrics: this.type.metrics?.actions.get(alarm.action), timeoutMs: this.type.options.actionTimeoutMs },
        finalWrites: (inst) => inst.stageAlarm(alarm.id, null),
      });
    });
  }

  /** Runs a lifecycle hook as a turn (so its state changes commit like an action's). */
  runHook(label: string, fn: () => unknown, internal = false): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue({ label, run: fn, resolve, reject, internal }));
  }

  private pump(): void {
    const max = this.type.options.reentrant ? Number.POSITIVE_INFINITY : 1;
    while (this.inbox.length > 0 && this.running < max && (this.status === "ready" || this.status === "stopping")) {
      const task = this.inbox.shift()!;
      this.type.metrics?.inboxDepth.dec();
      this.running++;
      void this.runTask(task);
    }
  }

  private async runTask(task: Task): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const reentrant = this.type.options.reentrant;
    const outbox: Array<() => void> = [];
    if (!reentrant) this.outbox = outbox;
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      value = task.run(this);
      if (isPromiseLike(value)) value = await (task.action ? withTimeout(value, task.action.timeoutMs) : value);
    } catch (err) {
      failed = true;
      failure = err;
    }
    if (!reentrant) this.outbox = undefined;
    this.running--;
    const metrics = task.action?.metrics;
    const durationMs = performance.now() - started;
    metrics?.duration.observe(durationMs / 1000);

    if (this.status === "crashed" || this.status === "stopped") {
      // The instance was abandoned while this turn ran: its changes go nowhere.
      if (!(failed && failure === TIMED_OUT)) task.reject(errors.actorRestarted());
      return;
    }
    if (failed && failure === TIMED_OUT) {
      metrics?.timeout.inc();
      if (task.action) this.recordCall(task.label, startedAt, durationMs, "timeout", "action_timed_out");
      this.log.warn({ action: task.label, timeoutMs: task.action!.timeoutMs }, "action timed out; restarting the actor from its last committed state");
      task.reject(errors.actionTimedOut(task.label, task.action!.timeoutMs));
      this.crash("timeout");
      return;
    }

    let barrier: Promise<void> | undefined;
    if (!failed) {
      try {
        task.finalWrites?.(this, true, value, undefined);
        barrier = this.commitPoint();
      } catch (err) {
        failed = true;
        failure = err;
      }
    }
    if (failed) {
      if (!reentrant) this.rollback();
      const isUser = failure instanceof UserError;
      if (task.action) (isUser ? metrics?.user_error : metrics?.error)?.inc();
      if (task.action) this.recordCall(task.label, startedAt, durationMs, isUser ? "user_error" : "error", failure instanceof TroupeError ? failure.code : "internal_error");
      if (!(failure instanceof TroupeError)) this.log.error({ err: failure, task: task.label }, "actor code threw");
      else if (!isUser) this.log.warn({ code: failure.code, task: task.label }, failure.message);
      let failedBarrier = this.barrier;
      if (task.finalWrites) {
        task.finalWrites(this, false, undefined, failure);
        failedBarrier = this.commitPoint();
      }
      // Logged above; the caller sees internal_error for anything that is not a typed error.
      const publicFailure = failure instanceof TroupeError ? failure : errors.internal();
      this.gate(failedBarrier, () => task.reject(publicFailure), task.reject);
    } else {
      if (outbox.length > 0) this.gate(barrier, () => outbox.forEach((send) => send()), () => {});
      // The outcome is known only once the commit is: a failed commit makes the call an error.
      this.gate(
        barrier,
        () => {
          metrics?.ok.inc();
          if (task.action) this.recordCall(task.label, startedAt, durationMs, "ok");
          task.resolve(value);
        },
        (err) => {
          metrics?.error.inc();
          if (task.action) this.recordCall(task.label, startedAt, durationMs, "error", err instanceof TroupeError ? err.code : "internal_error");
          task.reject(err);
        },
      );
    }
    this.afterTurn();
  }

  private afterTurn(): void {
    this.lastActivity = performance.now();
    if (this.drainWaiters.length > 0 && this.running === 0 && this.inbox.length === 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
    if (this.wantDestroy && this.running === 0) {
      this.wantDestroy = false;
      this.host.stop(this, "destroy");
      return;
    }
    if (this.wantSleep && this.running === 0 && this.inbox.length === 0) {
      this.wantSleep = false;
      this.host.stop(this, "sleep");
      return;
    }
    this.pump();
    this.queues?.pump();
    if (this.idle && this.status === "ready") this.armSleepTimer();
  }

  // ---- state and the output gate -----------------------------------------------------

  /**
   * Encodes the state; when it changed or the turn staged writes (KV, alarms), queues one
   * commit for all of it and makes that commit the new barrier.
   */
  private commitPoint(): Promise<void> | undefined {
    const bytes = encodeState(this.state);
    this.turnDb.commit();
    const stateChanged = !equalBytes(bytes, this.lastBytes);
    // Swap the turn buffers only when used: most turns stage nothing, and this is the hot path.
    const staged = this.turnWrites;
    const settle = this.turnSettle;
    if (staged.length > 0) this.turnWrites = [];
    if (settle.length > 0) this.turnSettle = [];
    if (this.turnUndo.length > 0) this.turnUndo = [];
    if (!stateChanged && staged.length === 0) return this.barrier;
    if (stateChanged) this.lastBytes = bytes;
    const writes: StoreWrite[] = stateChanged ? [{ kind: "state", actorId: this.id, state: bytes }, ...staged] : staged;
    const commit = this.host.committer.enqueue(writes, this.type.commitObserver);
    this.barrier = commit;
    commit.then(
      () => {
        if (this.barrier === commit) this.barrier = undefined;
        for (const f of settle) f();
      },
      (err) => {
        if (this.barrier === commit) this.barrier = undefined;
        this.commitFailed(err);
      },
    );
    const onStateChange = this.type.config.onStateChange;
    if (stateChanged && onStateChange) {
      try {
        onStateChange(this.ctx, this.state);
      } catch (err) {
        this.log.error({ err }, "onStateChange threw");
      }
    }
    return commit;
  }

  /** Stages a write with the current turn; `overlayKey` also makes a KV write visible to reads. */
  stage(write: StoreWrite, overlayKey?: string, overlayValue?: Uint8Array | null): void {
    this.turnWrites.push(write);
    if (overlayKey === undefined) return;
    this.trackOverlay(this.kvOverlay, overlayKey, overlayValue!);
  }

  /** Stages an alarm, or with null its cancellation; the scheduler hears once it is durable. */
  stageAlarm(id: string, alarm: StoredAlarm | null): void {
    this.turnWrites.push(alarm ? { kind: "alarmSet", actorId: this.id, alarm } : { kind: "alarmDelete", actorId: this.id, alarmId: id });
    this.trackOverlay(this.stagedAlarms, id, alarm);
    this.turnSettle.push(() => this.host.alarmsCommitted([[id, alarm]]));
  }

  /** Sets an overlay entry with an undo for rollback and a cleanup for when it is durable. */
  private trackOverlay<V>(map: Map<string, V>, key: string, value: V): void {
    const had = map.has(key);
    const prev = map.get(key);
    this.turnUndo.push(() => (had ? map.set(key, prev as V) : map.delete(key)));
    map.set(key, value);
    this.turnSettle.push(() => {
      if (map.get(key) === value) map.delete(key);
    });
  }

  /** Hands over writes staged outside any turn (by createState/onCreate) to the creator. */
  takeStagedWrites(): { writes: StoreWrite[]; settle: Array<() => void> } {
    const out = { writes: this.turnWrites, settle: this.turnSettle };
    this.turnWrites = [];
    this.turnSettle = [];
    this.turnUndo = [];
    return out;
  }

  /** Waits for `barrier` (if any) before `send`; a failed or poisoned commit calls `fail` instead. */
  private gate(barrier: Promise<void> | undefined, send: () => void, fail: (err: unknown) => void): void {
    if (!barrier) {
      send();
      return;
    }
    barrier.then(
      () => (this.poisoned ? fail(errors.commitFailed()) : send()),
      (err) => fail(errors.commitFailed(err)),
    );
  }

  /** Sends now, or after the current turn's commit when called inside a turn. */
  private emit(send: () => void): void {
    if (this.outbox) this.outbox.push(send);
    else this.gate(this.barrier, send, () => {});
  }

  private rollback(): void {
    this.turnDb.rollback();
    for (const undo of this.turnUndo.reverse()) undo();
    this.turnUndo = [];
    this.turnWrites = [];
    this.turnSettle = [];
    try {
      this.state = decodeState(this.lastBytes);
    } catch (err) {
      this.log.error({ err }, "could not restore the last snapshot");
    }
  }

  private commitFailed(err: unknown): void {
    if (this.status === "crashed" || this.status === "stopped") return;
    this.log.error({ err }, "state commit failed; restarting the actor from its last committed state");
    this.type.metrics?.stateCommitFailures.inc();
    this.poisoned = true;
    this.host.committer.discard(this.id);
    this.crash("commit_failed");
  }

  /** The last snapshot; a crash replaces the live state with what the store holds. */
  get committedSnapshot(): Uint8Array {
    return this.lastBytes;
  }

  // ---- events and connections --------------------------------------------------------

  broadcast(event: string, args: unknown[]): void {
    if (this.conns.size === 0) return;
    this.emit(() => {
      for (const conn of this.conns.values()) conn.deliverBroadcast(event, args);
    });
  }

  /** Admits a connection: onBeforeConnect, createConnState and onConnect run as one turn. */
  async connect(params: unknown, transport: ConnTransport): Promise<Conn> {
    const cfg = this.type.config;
    const conn = (await this.runHook("connect", async () => {
      try {
        await cfg.onBeforeConnect?.(this.ctx, params);
      } catch (err) {
        throw err instanceof TroupeError ? err : errors.connectionRefused("Connection refused by the actor");
      }
      const state = cfg.createConnState ? await cfg.createConnState(this.ctx, params) : structuredClone(cfg.connState);
      const c = new Conn(params, state, transport, (send) => this.emit(send));
      this.conns.set(c.id, c);
      this.type.metrics?.connectionsActive.inc();
      this.type.metrics?.connectionsOpened.inc();
      await cfg.onConnect?.(this.ctx, c);
      return c;
    })) as Conn;
    return conn;
  }

  /** Removes a connection and runs onDisconnect as a turn. */
  disconnect(conn: Conn, reason: string): Promise<void> {
    if (!this.conns.delete(conn.id)) return Promise.resolve();
    this.type.metrics?.connectionsActive.dec();
    this.type.metrics?.connectionsClosed(reason).inc();
    const onDisconnect = this.type.config.onDisconnect;
    const done = onDisconnect ? this.runHook("disconnect", () => onDisconnect(this.ctx, conn), true).then(() => {}) : Promise.resolve();
    return done.catch((err) => this.log.error({ err }, "onDisconnect failed")).finally(() => this.afterTurn());
  }

  // ---- sleep, destroy, crash ---------------------------------------------------------

  requestSleep(): void {
    this.wantSleep = true;
    if (this.running === 0) queueMicrotask(() => this.afterTurn());
  }

  requestDestroy(): void {
    this.wantDestroy = true;
    if (this.running === 0) queueMicrotask(() => this.afterTurn());
  }

  private armSleepTimer(): void {
    if (this.sleepTimer) return;
    const timeout = this.type.options.sleepTimeoutMs;
    const check = (): void => {
      this.sleepTimer = undefined;
      if (this.status !== "ready" || !this.idle) return;
      const remaining = timeout - (performance.now() - this.lastActivity);
      if (remaining <= 0) this.host.stop(this, "sleep");
      else this.sleepTimer = setTimeout(check, remaining).unref();
    };
    this.sleepTimer = setTimeout(check, timeout).unref();
  }

  /** Called by the manager when it starts unloading: refuse new work, then drain. */
  beginStop(): void {
    this.status = "stopping";
    this.queues?.close();
    clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
  }

  /** Resolves when no task is queued or running. */
  drain(): Promise<void> {
    if (this.running === 0 && this.inbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once every commit queued so far has settled (success or failure). */
  async settled(): Promise<void> {
    for (let b = this.barrier; b; b = this.barrier === b ? undefined : this.barrier) await b.catch(() => {});
  }

  /** Disconnects every connection with its onDisconnect hook, then closes the transports. */
  async disconnectAll(reason: string): Promise<void> {
    this.raw.closeAll(1001, reason);
    for (const conn of [...this.conns.values()]) {
      await this.disconnect(conn, reason);
      conn.disconnectTransport(1001, reason);
    }
  }

  /** Sets the snapshot a freshly created instance starts from. */
  resetSnapshot(bytes: Uint8Array): void {
    this.lastBytes = bytes;
  }

  /** The instance is live: start counting idle time. */
  markStarted(): void {
    this.lastActivity = performance.now();
    if (this.idle) this.armSleepTimer();
  }

  /** Closes every connection without hooks: the instance is being abandoned. */
  private closeConnections(code: number, reason: string): void {
    for (const conn of [...this.conns.values()]) {
      this.conns.delete(conn.id);
      this.type.metrics?.connectionsActive.dec();
      this.type.metrics?.connectionsClosed("actor_stopped").inc();
      conn.disconnectTransport(code, reason);
    }
  }

  markStopped(): void {
    if (this.status === "stopped") return;
    this.status = "stopped";
    this.stoppedSignal.resolve();
  }

  /** Abandons this instance; queued calls move to a fresh one loaded from the store. */
  private crash(cause: "timeout" | "commit_failed"): void {
    if (this.status === "crashed" || this.status === "stopped") return;
    this.status = "crashed";
    clearTimeout(this.sleepTimer);
    this.queues?.close();
    const pending = this.inbox.splice(0);
    this.type.metrics?.inboxDepth.dec(pending.length);
    this.closeConnections(1011, "actor_restarted");
    this.raw.closeAll(1011, "actor_restarted");
    this.log.warn({ cause }, "actor instance abandoned");
    const settled = this.settled().then(() => this.stoppedSignal.resolve());
    this.host.crashed(this, pending, settled);
  }
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

function withTimeout<T>(p: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(TIMED_OUT), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
