import type { Logger } from "pino";
import { errors, TroupeError, UserError } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { ActorStore, StoredAlarm, StoreWrite } from "../storage/types.js";
import { ActorKv, type KvOp } from "./kv.js";
import { ActorSchedule } from "./schedule.js";
import { ActorSql } from "./sql.js";
import { TurnDatabase, encodeRedo } from "./sql-turn.js";
import { OutputGate } from "./output-gate.js";
import { isPromiseLike, newTurn, reentrantTurn, TIMED_OUT, withTimeout, type Turn } from "./turn.js";
import { CallLog, type RecentCall } from "./call-log.js";
import { RawHandlers } from "./raw-handlers.js";
import { ActorQueues, type MessageOutcome } from "./queue.js";
import { ActionContext, ActorContext } from "./context.js";
import type { Conn, ConnTransport } from "./conn.js";
import { Connections } from "./connections.js";
import type { ActorType } from "./actor-type.js";
import type { ActionMetrics, ActionOutcome, KvOpMetrics, StopReason } from "./metrics-port.js";
import { cbor, decodeState } from "./state-codec.js";

/** What an instance needs from the manager that owns it. */
export interface InstanceHost {
  readonly committer: GroupCommitter;
  /** `c.client()` for a turn: `chain` lists the actors whose turns wait on it, for the cycle check. */
  clientFor(chain: readonly string[]): unknown;
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
  run(instance: ActorInstance, ctx: ActionContext<any, any, any, any>): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** Set for actions: the per-action metrics and the call log. */
  action?: { metrics: ActionMetrics | undefined } | undefined;
  /** Tasks from a connection die with it; stateless tasks can be retried on a fresh instance. */
  conn?: Conn | undefined;
  /** Internal tasks (hooks while stopping) are accepted after new work is refused. */
  internal?: boolean;
  /** Stages writes with the task whatever its outcome (an alarm's deletion, a message's fate). */
  finalWrites?: (instance: ActorInstance, ok: boolean, output: unknown, error: unknown) => void;
  /** Never move to a fresh instance after a crash (the fresh one reloads the work itself). */
  noRequeue?: boolean;
  /** Actors whose turns wait on this task through `c.client()`, outermost first. */
  chain?: readonly string[];
  /** A timeout is one failed attempt: its fate (a queue retry) commits before the restart. */
  fateOnTimeout?: boolean;
}

type Status = "ready" | "stopping" | "stopped" | "crashed";

/**
 * A live actor: its state, its inbox and its output gate.
 *
 * Turns: tasks run one at a time in arrival order (unless the type is reentrant), and every
 * turn (action, hook, queue handler, raw request) is bounded by `actionTimeoutMs`.
 * Output gate: a reply or event leaves only after every state change made before it is
 * durable. After each turn the state is encoded; if the bytes changed, a commit is queued
 * and becomes the barrier that later replies wait on. The next turn does not wait for the
 * commit, so commits of many turns group into one transaction.
 * Atomic turns: a turn that throws is rolled back to the last snapshot. A turn that used
 * `c.db` commits its SQL together with a redo record of its other writes (src/actor/sql-turn.ts).
 */
export class ActorInstance {
  state: unknown;
  vars: unknown;
  private readonly connections: Connections;
  status: Status = "ready";
  /** Why the instance is stopping; decides what a refused call is told. */
  private stopReason: Exclude<StopReason, "crash"> | undefined;

  private readonly inbox: Task[] = [];
  private running = 0;
  /** Staged writes, commits and the gate that holds replies and events until they are durable. */
  private readonly output: OutputGate;
  /** The running turn of a non-reentrant actor. */
  private active: Turn | undefined;
  /** Writes made outside any task (createState, onCreate, timers of user code). */
  private loose: Turn = newTurn(false);
  /** Present when the actor type declares queues. */
  readonly queues: ActorQueues | undefined;
  private _kv: ActorKv | undefined;
  private _sql: ActorSql | undefined;
  private readonly turnDb: TurnDatabase;
  private _schedule: ActorSchedule | undefined;
  private wantSleep = false;
  private drainWaiters: Array<() => void> = [];
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
    /** The last SQL redo sequence the store has applied for this actor. */
    sqlSeq = 0,
  ) {
    this.state = state;
    this.output = new OutputGate(
      {
        id,
        committer: host.committer,
        commitObserver: type.commitObserver,
        turnDb: () => this.turnDb,
        state: () => this.state,
        usable: () => this.status !== "crashed" && this.status !== "stopped",
        alarmsCommitted: (changes) => host.alarmsCommitted(changes),
        stateChanged: () => this.stateChanged(),
        failed: (err) => this.commitFailed(err),
      },
      stateBytes,
    );
    this.ctx = new ActorContext(this);
    this.connections = new Connections({
      type,
      ctx: this.ctx,
      log: () => this.log,
      runHook: (label, fn, internal) => this.runHook(label, fn, internal),
      emit: (send) => this.emit(send),
      abandoned: () => this.status === "crashed",
      afterChange: () => this.afterTurn(),
    });
    this.turnDb = new TurnDatabase(host.store, id, type.config.db?.migrations ?? [], sqlSeq);
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
          run: (_inst, ctx) => run(ctx),
          resolve: () => {},
          reject: () => {},
          finalWrites: (_inst, ok, output, error) => finish(ok, output, error),
          noRequeue: true,
          fateOnTimeout: true,
        }),
      stageWith: (write, undo, settle) => {
        const turn = this.currentTurn();
        turn.addWrite(write);
        turn.addUndo(undo);
        turn.addSettle(settle);
      },
      decided: (seq, outcome) => this.currentTurn().addOutcome([seq, outcome.ok, outcome.ok ? outcome.output : undefined]),
      messageSettled: (seq, outcome) => host.messageSettled(seq, outcome),
      log: this.log,
    });
    let resolve!: () => void;
    this.stoppedSignal = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  get name(): string {
    return this.type.name;
  }

  get conns(): ReadonlyMap<string, Conn> {
    return this.connections.map;
  }

  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.type.name, actorId: this.id }));
  }

  get store(): ActorStore {
    return this.host.store;
  }

  /** `c.client()` of a turn whose callers are `chain`. */
  clientFor(chain: readonly string[]): unknown {
    return this.host.clientFor([...chain, this.id]);
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
      stagedAlarms: this.output.stagedAlarms,
      committedAlarms: () => this.host.alarmsOf(this.id),
    }));
  }

  get db(): ActorSql {
    return (this._sql ??= new ActorSql({
      database: () => {
        // Concurrent turns cannot each have their own transaction on one connection.
        if (this.type.options.reentrant) throw errors.sqlUnavailable();
        return this.turnDb.forStatement();
      },
      sqlMetrics: this.type.metrics?.sql,
    }));
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

  /** The most recent action calls, for the inspector (gone when the actor sleeps). */
  private readonly calls = new CallLog();

  private recordCall(action: string, startedAt: number, durationMs: number, outcome: ActionOutcome, code?: string): void {
    this.calls.record(action, startedAt, durationMs, outcome, code);
  }

  /** The recent calls, oldest first. */
  get recentCalls(): RecentCall[] {
    return this.calls.recent();
  }

  /** Raw HTTP and WebSocket handlers (onRequest, onWebSocket). */
  readonly raw: RawHandlers;

  // ---- turns -------------------------------------------------------------------------

  /** Queues a task for its turn; the promise settles after the output gate opens. */
  enqueue(task: Task): void {
    if (this.status !== "ready" && !(this.status === "stopping" && task.internal)) {
      task.reject(this.refusal());
      return;
    }
    this.inbox.push(task);
    this.type.metrics?.inboxDepth.inc();
    this.pump();
  }

  /** What a call that arrives after this instance stopped taking work is told. */
  private refusal(): TroupeError {
    if (this.status === "crashed") return errors.actorRestarted();
    if (this.stopReason === "sleep") return errors.actorStopping();
    if (this.stopReason === "destroy") return errors.actorNotFound(this.id);
    return errors.stopping();
  }

  /** Runs an action by name; used by HTTP, WebSocket and in-process callers. */
  callAction(actionName: string, args: unknown[], conn?: Conn, chain?: readonly string[]): Promise<unknown> {
    const fn = this.type.actions.get(actionName);
    if (!fn) return Promise.reject(errors.actionNotFound(this.type.name, actionName));
    return new Promise((resolve, reject) => {
      this.enqueue({
        label: actionName,
        run: (_inst, ctx) => fn(ctx, ...args),
        resolve,
        reject,
        action: { metrics: this.type.metrics?.actions.get(actionName) },
        conn,
        chain,
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
        run: (inst, ctx) => {
          // Cancelled while it waited for its turn: a cancel that said "true" means it never runs.
          // `inst`, not `this`: after a crash the task runs on the fresh instance.
          if (!inst.alarmPending(alarm.id)) return undefined;
          onStart?.();
          if (!fn) throw errors.actionNotFound(this.type.name, alarm.action);
          return fn(ctx, ...(cbor.decode(alarm.args) as unknown[]));
        },
        resolve: () => resolve("ok"),
        reject: (err) => {
          const code = err instanceof TroupeError ? err.code : "";
          if (["state_commit_failed", "actor_restarted", "action_timed_out", "server_stopping", "actor_stopping"].includes(code)) reject(err);
          else {
            this.log.error({ err, action: alarm.action, alarmId: alarm.id }, "scheduled action failed");
            resolve("error");
          }
        },
        action: { metrics: this.type.metrics?.actions.get(alarm.action) },
        finalWrites: (inst) => inst.stageAlarm(alarm.id, null),
      });
    });
  }

  /** True while an alarm is neither cancelled by a staged turn nor gone from the clock. */
  alarmPending(id: string): boolean {
    const staged = this.output.stagedAlarms;
    if (staged.has(id)) return staged.get(id) !== null;
    return this.host.alarmsOf(this.id).some((a) => a.id === id);
  }

  /** Runs a lifecycle hook as a turn (so its state changes commit like an action's). */
  runHook(label: string, fn: () => unknown, internal = false): Promise<unknown> {
    // A hook's closure belongs to this instance: after a crash it must not run on a fresh one.
    return new Promise((resolve, reject) => this.enqueue({ label, run: fn, resolve, reject, internal, noRequeue: true }));
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

  /** The staging buffer of the code running now. */
  private currentTurn(): Turn {
    if (this.type.options.reentrant) return reentrantTurn.getStore() ?? this.loose;
    return this.active ?? this.loose;
  }

  /** Runs `fn` with `turn` as the staging buffer (reentrant turns carry it in their async context). */
  private inTurn<T>(turn: Turn, fn: () => T): T {
    if (this.type.options.reentrant) return reentrantTurn.run(turn, fn);
    this.active = turn;
    return fn();
  }

  private async runTask(task: Task): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const reentrant = this.type.options.reentrant;
    const turn = newTurn(true);
    const timeoutMs = this.type.options.actionTimeoutMs;
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      const ctx = new ActionContext(this, task.conn, task.chain ?? []);
      value = this.inTurn(turn, () => task.run(this, ctx));
      if (isPromiseLike(value)) value = await withTimeout(value, timeoutMs);
    } catch (err) {
      failed = true;
      failure = err;
    }
    const metrics = task.action?.metrics;
    const durationMs = performance.now() - started;
    metrics?.duration.observe(durationMs / 1000);

    if (this.status === "crashed" || this.status === "stopped") {
      // The instance was abandoned while this turn ran: its changes go nowhere.
      this.running--;
      if (!reentrant && this.active === turn) this.active = undefined;
      // A concurrent (reentrant) turn that timed out after the crash still owes its caller an answer.
      task.reject(failed && failure === TIMED_OUT ? errors.actionTimedOut(task.label, timeoutMs) : errors.actorRestarted());
      return;
    }
    if (failed && failure === TIMED_OUT) {
      this.running--;
      metrics?.timeout.inc();
      if (task.action) this.recordCall(task.label, startedAt, durationMs, "timeout", "action_timed_out");
      this.log.warn({ task: task.label, timeoutMs }, "turn timed out; restarting the actor from its last committed state");
      task.reject(errors.actionTimedOut(task.label, timeoutMs));
      if (task.fateOnTimeout && task.finalWrites) this.commitFate(task, errors.actionTimedOut(task.label, timeoutMs));
      this.crash("timeout");
      return;
    }

    let barrier: Promise<void> | undefined;
    let sqlDurable = false;
    if (!failed) {
      try {
        if (task.finalWrites) this.inTurn(turn, () => task.finalWrites!(this, true, value, undefined));
        if (this.turnDb.inTransaction) {
          await this.output.commitSqlTurn(turn);
          sqlDurable = true;
        } else barrier = this.output.commitPoint(turn);
      } catch (err) {
        failed = true;
        failure = err;
      }
    }
    this.running--;
    if (!reentrant && this.active === turn) this.active = undefined;
    // The SQL commit may have waited: the instance may have been abandoned meanwhile.
    const after = this.status as Status;
    if (after === "crashed" || after === "stopped") {
      // A turn whose SQL committed is durable whatever happened since: its caller hears so.
      if (sqlDurable) task.resolve(value);
      else task.reject(errors.actorRestarted());
      return;
    }
    if (failed) {
      this.rollback(turn);
      const isUser = failure instanceof UserError;
      if (task.action) (isUser ? metrics?.user_error : metrics?.error)?.inc();
      if (task.action) this.recordCall(task.label, startedAt, durationMs, isUser ? "user_error" : "error", failure instanceof TroupeError ? failure.code : "internal_error");
      if (!(failure instanceof TroupeError)) this.log.error({ err: failure, task: task.label }, "actor code threw");
      else if (!isUser) this.log.warn({ code: failure.code, task: task.label }, failure.message);
      let failedBarrier = this.output.barrier;
      if (task.finalWrites) {
        const fate = newTurn(false);
        this.inTurn(fate, () => task.finalWrites!(this, false, undefined, failure));
        if (!reentrant) this.active = undefined;
        failedBarrier = this.output.commitPoint(fate);
      }
      // Logged above; the caller sees internal_error for anything that is not a typed error.
      const publicFailure = failure instanceof TroupeError ? failure : errors.internal();
      this.output.gate(failedBarrier, () => task.reject(publicFailure), task.reject);
    } else {
      const outbox = turn.outbox;
      if (outbox.length > 0) this.output.gate(barrier, () => outbox.forEach((send) => send()), () => {});
      // The outcome is known only once the commit is: a failed commit makes the call an error.
      this.output.gate(
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

  /**
   * Commits a timed-out task's fate on its own (a queue message's attempt count), as the last
   * barrier of this instance: the fresh one loads the message only after it is durable, so a
   * handler that always hangs ends as a dead letter instead of being retried forever.
   */
  private commitFate(task: Task, error: TroupeError): void {
    const fate = newTurn(false);
    this.inTurn(fate, () => task.finalWrites!(this, false, undefined, error));
    if (!this.type.options.reentrant) this.active = undefined;
    if (fate.writes.length === 0) return;
    this.output.commitAlone(fate.writes, fate.settle, (err) => this.log.error({ err }, "could not record a timed-out queue attempt"));
  }

  private afterTurn(): void {
    this.lastActivity = performance.now();
    if (this.drainWaiters.length > 0 && this.running === 0 && this.inbox.length === 0) this.releaseDrainWaiters();
    if (this.status !== "ready") {
      this.pump();
      return;
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
    if (this.idle) this.armSleepTimer();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  // ---- state and the output gate -----------------------------------------------------

  /** Stages a write with the current turn; `overlayKey` also makes a KV write visible to reads. */
  stage(write: StoreWrite, overlayKey?: string, overlayValue?: Uint8Array | null): void {
    this.output.stage(this.currentTurn(), write, overlayKey, overlayValue);
  }

  /** Stages an alarm, or with null its cancellation; the scheduler hears once it is durable. */
  stageAlarm(id: string, alarm: StoredAlarm | null): void {
    this.output.stageAlarm(this.currentTurn(), id, alarm);
  }

  /** KV writes staged and not yet known durable (hex key -> value, null = deleted). */
  get kvOverlay(): Map<string, Uint8Array | null> {
    return this.output.kvOverlay;
  }

  /**
   * SQL run by createState/onCreate commits before the actor is stored: a crash in between
   * leaves an unused file under an id nobody was given, never an actor missing its SQL.
   * Returns the write that records it, to go in the creation's batch.
   */
  commitCreationSql(): StoreWrite | undefined {
    if (!this.turnDb.inTransaction) return undefined;
    const seq = this.turnDb.commitWithRedo(encodeRedo([], []));
    return { kind: "sqlApplied", actorId: this.id, seq };
  }

  /** Hands over writes staged outside any turn (by createState/onCreate) to the creator. */
  takeStagedWrites(): { writes: StoreWrite[]; settle: Array<() => void> } {
    const out = { writes: this.loose.writes, settle: this.loose.settle };
    this.loose = newTurn(false);
    return out;
  }

  /** Sends with the current turn's commit, or after the newest commit when outside a turn. */
  private emit(send: () => void): void {
    const turn = this.currentTurn();
    if (turn.inTask) turn.addEvent(send);
    else this.output.gate(this.output.barrier, send, () => {});
  }

  private rollback(turn: Turn): void {
    this.turnDb.rollback();
    this.output.undo(turn);
    // Concurrent reentrant turns share the state object: restoring it would undo their changes too.
    if (this.type.options.reentrant) return;
    try {
      this.state = decodeState(this.output.lastBytes);
    } catch (err) {
      this.log.error({ err }, "could not restore the last snapshot");
    }
  }

  private commitFailed(err: unknown): void {
    if (this.status === "crashed" || this.status === "stopped") return;
    this.log.error({ err }, "state commit failed; restarting the actor from its last committed state");
    this.type.metrics?.stateCommitFailures.inc();
    this.crash("commit_failed");
  }

  private stateChanged(): void {
    const onStateChange = this.type.config.onStateChange;
    if (!onStateChange) return;
    try {
      onStateChange(this.ctx, this.state);
    } catch (err) {
      this.log.error({ err }, "onStateChange threw");
    }
  }

  /** The last snapshot; a crash replaces the live state with what the store holds. */
  get committedSnapshot(): Uint8Array {
    return this.output.lastBytes;
  }

  // ---- events and connections --------------------------------------------------------

  broadcast(event: string, args: unknown[]): void {
    this.connections.broadcast(event, args);
  }

  /** Admits a connection: onBeforeConnect, createConnState and onConnect run as one turn. */
  connect(params: unknown, transport: ConnTransport): Promise<Conn> {
    return this.connections.connect(params, transport);
  }

  /** Removes a connection and runs onDisconnect as a turn. */
  disconnect(conn: Conn, reason: string): Promise<void> {
    return this.connections.disconnect(conn, reason);
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
  beginStop(reason: Exclude<StopReason, "crash">): void {
    this.status = "stopping";
    this.stopReason = reason;
    this.queues?.close();
    clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
  }

  /** Resolves when no task is queued or running (or the instance was abandoned). */
  drain(): Promise<void> {
    if ((this.running === 0 && this.inbox.length === 0) || this.status === "crashed") return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once every commit queued so far has settled (success or failure). */
  async settled(): Promise<void> {
    await this.output.settled();
  }

  /** Disconnects every connection with its onDisconnect hook, then closes the transports. */
  async disconnectAll(reason: string): Promise<void> {
    this.raw.closeAll(1001, reason);
    await this.connections.disconnectAll(reason);
  }

  /** Sets the snapshot a freshly created instance starts from. */
  resetSnapshot(bytes: Uint8Array): void {
    this.output.lastBytes = bytes;
  }

  /** The instance is live: start counting idle time. */
  markStarted(): void {
    this.lastActivity = performance.now();
    if (this.idle && this.status === "ready") this.armSleepTimer();
  }

  markStopped(): void {
    if (this.status === "stopped") return;
    this.status = "stopped";
    this.turnDb.abandon();
    this.stoppedSignal.resolve();
  }

  /** True once the instance was abandoned (timeout or failed commit), even after it is stopped. */
  get crashed(): boolean {
    return this.abandoned;
  }

  private abandoned = false;

  /** Abandons this instance; queued calls move to a fresh one loaded from the store. */
  private crash(cause: "timeout" | "commit_failed"): void {
    if (this.status === "crashed" || this.status === "stopped") return;
    this.status = "crashed";
    this.abandoned = true;
    clearTimeout(this.sleepTimer);
    this.queues?.close();
    // The abandoned turn may still hold the SQL write lock; a fresh instance needs the database.
    this.turnDb.abandon();
    const pending = this.inbox.splice(0);
    this.type.metrics?.inboxDepth.dec(pending.length);
    this.connections.closeAll(1011, "actor_restarted");
    this.raw.closeAll(1011, "actor_restarted");
    this.log.warn({ cause }, "actor instance abandoned");
    this.releaseDrainWaiters();
    const settled = this.settled().then(() => this.stoppedSignal.resolve());
    this.host.crashed(this, pending, settled);
  }
}


