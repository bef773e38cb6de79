import type { Logger } from "pino";
import { errors, type TroupeError } from "../common/errors.js";
import type { StoredAlarm } from "../storage/types.js";
import type { ActorKv } from "./kv.js";
import type { ActorSchedule } from "./schedule.js";
import type { ActorSql } from "./sql.js";
import { Capabilities } from "./capabilities.js";
import { TurnDatabase } from "./sql-turn.js";
import { OutputGate } from "./output-gate.js";
import { CallLog, type RecentCall } from "./call-log.js";
import { RawHandlers } from "./raw-handlers.js";
import { ActorQueues } from "./queue.js";
import { ActionContext, ActorContext } from "./context.js";
import type { Conn, ConnTransport } from "./conn.js";
import { Connections } from "./connections.js";
import type { ActorType } from "./actor-type.js";
import type { StopReason } from "./metrics-port.js";
import { decodeState } from "./state-codec.js";
import { Lifecycle, type Status } from "./lifecycle.js";
import { TurnLoop } from "./turn-loop.js";
import type { InstanceHost, Task } from "./task.js";
import { authorize } from "./admission.js";
import { actionTask, alarmTask, type CallVia } from "./calls.js";

export type { CallVia } from "./calls.js";

export type { InstanceHost, Task } from "./task.js";

/**
 * A live actor: its state, its capabilities, and the wiring between its parts.
 *
 * - Turns (src/actor/turn-loop.ts): one at a time in arrival order unless the type is
 *   reentrant, each bounded by `actionTimeoutMs`; a turn that throws is rolled back.
 * - Output gate (src/actor/output-gate.ts): a reply or event leaves only after every change
 *   made before it is durable; commits of many turns group into one transaction.
 * - Lifecycle (src/actor/lifecycle.ts): the first turn creates or wakes the actor; idle
 *   sleep, `c.sleep`, `c.destroy` and unloads end it; a timeout or failed commit abandons it.
 */
export class ActorInstance {
  state: unknown;
  vars: unknown;
  readonly output: OutputGate;
  readonly turnDb: TurnDatabase;
  /** The most recent action calls, for the inspector (gone when the actor sleeps). */
  readonly calls = new CallLog();
  /** Present when the actor type declares queues. */
  readonly queues: ActorQueues | undefined;
  /** Raw HTTP and WebSocket handlers (onRequest, onWebSocket), made by `raw` on first use. */
  private _raw: RawHandlers | undefined;
  private readonly connections: Connections;
  private readonly loop: TurnLoop;
  private readonly life: Lifecycle;
  private readonly ctx: ActorContext<any, any, any, any>;
  private readonly caps: Capabilities;
  private _log: Logger | undefined;

  constructor(
    readonly type: ActorType,
    readonly id: string,
    readonly key: readonly string[],
    private readonly host: InstanceHost,
    /** The committed state, if the actor's first turn ever committed; and the SQL redo seq the store applied. */
    stored: { state: Uint8Array | undefined; sqlSeq: number },
  ) {
    const self = this;
    this.state = stored.state ? decodeState(stored.state) : undefined;
    this.output = new OutputGate(
      {
        id,
        committer: host.committer,
        commitObserver: type.commitObserver,
        turnDb: () => this.turnDb,
        state: () => this.state,
        usable: () => !this.life.gone,
        alarmsCommitted: (changes) => host.alarmsCommitted(changes),
        stateChanged: () => this.stateChanged(),
        failed: (err) => this.commitFailed(err),
      },
      stored.state ?? new Uint8Array(),
    );
    this.ctx = new ActorContext(this);
    this.life = new Lifecycle({
      sleepTimeoutMs: type.options.sleepTimeoutMs,
      idle: () => this.idle,
      quiet: () => this.loop.empty,
      busy: () => this.loop.busy,
      stop: (reason) => host.stopRequested(this, reason),
    });
    this.loop = new TurnLoop({
      type,
      output: this.output,
      turnDb: (this.turnDb = new TurnDatabase(host.storage, id, type.config.db?.migrations ?? [], stored.sqlSeq)),
      calls: this.calls,
      log: () => this.log,
      refusal: (task) => this.refusal(task),
      canRun: () => this.life.running,
      usable: () => !this.life.gone,
      context: (task) => new ActionContext(this, task.conn, task.chain ?? []),
      restoreState: () => this.restoreState(),
      timedOut: () => this.crash("timeout"),
      afterTurn: () => this.afterTurn(),
      alarmPending: (id) => this.caps.alarmPending(id),
      stageAlarm: (id, alarm) => this.caps.stageAlarm(id, alarm),
    });
    this.caps = new Capabilities({
      id,
      type,
      storage: host.storage,
      output: this.output,
      turnDb: this.turnDb,
      currentTurn: () => this.loop.current(),
      alarmsOf: () => host.alarmsOf(id),
    });
    this.connections = new Connections({
      type,
      ctx: this.ctx,
      log: () => this.log,
      runHook: (label, fn, internal) => this.runHook(label, fn, internal),
      emit: (send) => this.emit(send),
      abandoned: () => this.life.status === "crashed",
      afterChange: () => this.afterTurn(),
    });
    this.queues = type.queues.size === 0 ? undefined : new ActorQueues({
      id,
      actorName: type.name,
      specs: type.queues,
      metrics: type.metrics?.queues,
      runHandler: (label, run, finish) =>
        this.loop.enqueue({
          label,
          run: (_target, ctx) => run(ctx),
          resolve: () => {},
          reject: () => {},
          finalWrites: (_target, ok, output, error) => finish(ok, output, error),
          noRequeue: true,
          fateOnTimeout: true,
        }),
      stageWith: (write, undo, settle) => {
        const turn = this.loop.current();
        turn.addWrite(write);
        turn.addUndo(undo);
        turn.addSettle(settle);
      },
      decided: (seq, outcome) => this.loop.current().addOutcome([seq, outcome.ok, outcome.ok ? outcome.output : undefined]),
      messageSettled: (seq, outcome) => host.messageSettled(seq, outcome),
      get log() {
        return self.log;
      },
    });
  }

  // ---- what the runtime and the edges read ---------------------------------------------

  get hasState(): boolean {
    return this.type.config.state !== undefined || this.type.config.createState !== undefined;
  }

  get name(): string {
    return this.type.name;
  }

  get status(): Status {
    return this.life.status;
  }

  holdConn(conn: Conn): () => void {
    return this.connections.hold(conn);
  }

  /** Raw HTTP and WebSockets, made on first use: most actors never take either (about 1 KB each). */
  get raw(): RawHandlers {
    const self = this;
    return (this._raw ??= new RawHandlers({
      type: this.type,
      ctx: this.ctx,
      // A getter: the child logger is made on first use, not for every instance that never logs.
      get log() {
        return self.log;
      },
      run: (label, fn, internal) => this.runHook(label, fn, internal),
      runRequest: (fn) => new Promise((resolve, reject) => this.loop.enqueue({ label: "onRequest", run: fn, resolve, reject, noRequeue: true, fromCaller: true })),
      emit: (send) => this.emit(send),
      socketClosed: () => {
        if (this.life.status === "ready") this.afterTurn();
      },
    }));
  }

  get conns(): ReadonlyMap<string, Conn> {
    return this.connections.map;
  }

  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.type.name, actorId: this.id }));
  }

  /** Resolves once the instance is fully unloaded (sleep, destroy, shutdown or crash). */
  get stopped(): Promise<void> {
    return this.life.stopped;
  }

  /** True once the instance was abandoned (timeout or failed commit), even after it is stopped. */
  get crashed(): boolean {
    return this.life.abandoned;
  }

  get inboxDepth(): number {
    return this.loop.depth;
  }

  get idle(): boolean {
    return this.loop.empty && this.conns.size === 0 && (this._raw?.sockets.size ?? 0) === 0 && !this.queues?.hasHandlerWork;
  }

  /** True while a turn runs on a non-reentrant actor: a call to itself now would deadlock. */
  get busyWithTurn(): boolean {
    return this.loop.busy > 0 && !this.type.options.reentrant;
  }

  /** The recent calls, oldest first. */
  get recentCalls(): RecentCall[] {
    return this.calls.recent();
  }

  /** The last snapshot; a crash replaces the live state with what the store holds. */
  get committedSnapshot(): Uint8Array {
    return this.output.lastBytes;
  }

  // ---- capabilities (the context reads these) ------------------------------------------

  /** `c.client()` of a turn whose callers are `chain`. */
  clientFor(chain: readonly string[]): unknown {
    return this.host.clientFor([...chain, this.id]);
  }

  get kv(): ActorKv {
    return this.caps.kv;
  }

  get schedule(): ActorSchedule {
    return this.caps.schedule;
  }

  get db(): ActorSql {
    return this.caps.db;
  }

  broadcast(event: string, args: unknown[]): void {
    this.connections.broadcast(event, args);
  }

  requestSleep(): void {
    this.life.requestSleep(() => this.afterTurn());
  }

  requestDestroy(): void {
    this.life.requestDestroy(() => this.afterTurn());
  }

  // ---- ways in: every one is a task in the inbox -----------------------------------------

  /**
   * The instance's first turn. For an actor whose first turn never committed: createState and
   * onCreate with its input. Then createVars and onWake. Its writes commit like any turn's;
   * the instance takes calls once it resolved. A failed first turn leaves the instance stopped.
   */
  async start(input: unknown): Promise<"create" | "wake"> {
    const creating = this.output.lastBytes.byteLength === 0;
    const cfg = this.type.config;
    const ctx = this.ctx;
    try {
      if (cfg.db) await this.turnDb.open();
      await new Promise((resolve, reject) =>
        this.loop.enqueue({
          label: creating ? "onCreate" : "onWake",
          internal: true,
          noRequeue: true,
          resolve,
          reject,
          run: async () => {
            if (creating) this.state = cfg.createState ? await cfg.createState(ctx, input) : structuredClone(cfg.state);
            if (cfg.createVars) this.vars = await cfg.createVars(ctx);
            else if (cfg.vars !== undefined) this.vars = structuredClone(cfg.vars);
            if (creating) await cfg.onCreate?.(ctx, input);
            await cfg.onWake?.(ctx);
          },
        }),
      );
      if (this.life.abandoned) throw errors.actorRestarted();
    } catch (err) {
      if (!this.life.abandoned) {
        this.life.beginStop("shutdown");
        await this.turnDb.release();
        this.markStopped();
      }
      throw err;
    }
    this.life.touch();
    return creating ? "create" : "wake";
  }

  /** Queues a task for its turn; the promise settles after the output gate opens. */
  enqueue(task: Task): void {
    this.loop.enqueue(task);
  }

  /** Runs an action by name (src/actor/calls.ts says how each way in becomes a task). */
  callAction(actionName: string, args: unknown[], via: CallVia = {}): Promise<unknown> {
    if (!this.type.actions.has(actionName)) return Promise.reject(errors.actionNotFound(this.type.name, actionName));
    return new Promise((resolve, reject) => this.loop.enqueue(actionTask(this, actionName, args, via, resolve, reject)));
  }

  /** Fires an alarm as a turn; rejects when it should be retried later (src/actor/calls.ts). */
  runAlarm(alarm: StoredAlarm, onStart?: () => void): Promise<"ok" | "error"> {
    return new Promise((resolve, reject) => this.loop.enqueue(alarmTask(this, alarm, onStart, resolve, reject)));
  }

  /** Authorizes a caller that gets no connection (a queue send, a raw request or socket), as a turn. */
  async authorize(params: unknown): Promise<void> {
    if (!this.type.config.onBeforeConnect) return;
    await this.runHook("authorize", () => authorize(this.type, this.ctx, params));
  }

  /** Runs a lifecycle hook as a turn (so its state changes commit like an action's). */
  runHook(label: string, fn: () => unknown, internal = false): Promise<unknown> {
    // A hook's closure belongs to this instance: after a crash it must not run on a fresh one.
    return new Promise((resolve, reject) => this.loop.enqueue({ label, run: fn, resolve, reject, internal, noRequeue: true }));
  }

  /** Admits a connection: onBeforeConnect, createConnState and onConnect run as one turn. */
  connect(params: unknown, transport: ConnTransport): Promise<Conn> {
    return this.connections.connect(params, transport);
  }

  /** Removes a connection and runs onDisconnect as a turn. */
  disconnect(conn: Conn, reason: string): Promise<void> {
    return this.connections.disconnect(conn, reason);
  }

  // ---- the end ----------------------------------------------------------------------

  /**
   * Unloads: refuses new work at once, lets queued work finish, disconnects everyone, runs
   * onSleep or onDestroy as the last turn, and waits for every commit. The runtime removes a
   * destroyed actor's data afterwards.
   */
  async stop(reason: Exclude<StopReason, "crash">): Promise<void> {
    this.life.beginStop(reason);
    this.queues?.close();
    const cfg = this.type.config;
    try {
      await this.life.drain();
      this._raw?.closeAll(1001, reason === "shutdown" ? "shutdown" : "actor_stopped");
      await this.connections.disconnectAll(reason === "shutdown" ? "shutdown" : "actor_stopped");
      const hook = reason === "destroy" ? cfg.onDestroy : cfg.onSleep;
      if (hook && !this.life.abandoned) {
        await this.runHook(reason, () => hook(this.ctx), true).catch((err) => this.log.error({ err }, `${reason === "destroy" ? "onDestroy" : "onSleep"} failed`));
      }
      await this.output.settled();
    } finally {
      await this.turnDb.release();
    }
  }

  /** Gone for good: the runtime retired it. */
  markStopped(): void {
    if (!this.life.markStopped()) return;
    this.turnDb.abandon();
  }

  /** What a call that arrives when this instance takes no such work is told. */
  private refusal(task: Task): TroupeError | undefined {
    const status = this.life.status;
    if (status === "ready" || (status === "stopping" && task.internal)) return undefined;
    if (status === "crashed") return errors.actorRestarted();
    if (this.life.stopReason === "sleep") return errors.actorStopping();
    if (this.life.stopReason === "destroy") return errors.actorNotFound(this.id);
    return errors.stopping();
  }

  private afterTurn(): void {
    const stopping = this.life.afterTurn();
    this.loop.pump();
    if (stopping || this.life.status !== "ready") return;
    this.queues?.pump();
    if (this.idle) this.life.armSleepTimer();
  }

  /** Sends with the current turn's commit, or after the newest commit when outside a turn. */
  private emit(send: () => void): void {
    const turn = this.loop.current();
    if (turn.inTask) turn.addEvent(send);
    else this.output.gate(this.output.barrier, send, () => {});
  }

  private restoreState(): void {
    // Concurrent reentrant turns share the state object: restoring it would undo their changes too.
    if (this.type.options.reentrant) return;
    const bytes = this.output.lastBytes;
    try {
      this.state = bytes.byteLength === 0 ? undefined : decodeState(bytes);
    } catch (err) {
      this.log.error({ err }, "could not restore the last snapshot");
    }
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

  private commitFailed(err: unknown): void {
    if (this.life.gone) return;
    this.log.error({ err }, "state commit failed; restarting the actor from its last committed state");
    this.type.metrics?.stateCommitFailures.inc();
    this.crash("commit_failed");
  }

  /** Abandons this instance; queued calls move to a fresh one loaded from the store. */
  private crash(cause: "timeout" | "commit_failed"): void {
    if (!this.life.abandon()) return;
    this.queues?.close();
    // The abandoned turn may still hold the SQL write lock; a fresh instance needs the database.
    this.turnDb.abandon();
    const pending = this.loop.takeInbox();
    this.connections.closeAll(1011, "actor_restarted");
    this._raw?.closeAll(1011, "actor_restarted");
    this.log.warn({ cause }, "actor instance abandoned");
    const settled = this.output.settled().then(() => this.life.resolveStopped());
    this.host.crashed(this, pending, settled);
  }
}
