import type { Logger } from "pino";
import { errors, type TroupeError } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { StorageDriver } from "../storage/driver.js";
import type { StoredAlarm, StoreWrite } from "../storage/types.js";
import type { ActorKv } from "./kv.js";
import type { ActorSchedule } from "./schedule.js";
import type { ActorSql } from "./sql.js";
import { Capabilities, type CapabilitiesHost } from "./capabilities.js";
import { TurnDatabase } from "./sql-turn.js";
import { OutputGate, type OutputGateHost } from "./output-gate.js";
import type { MessageOutcome } from "./queue.js";
import { CallLog, type RecentCall } from "./call-log.js";
import { RawHandlers, type RawHost } from "./raw-handlers.js";
import { ActorQueues } from "./queue.js";
import { QueueWiring } from "./queue-wiring.js";
import { ActionContext, ActorContext } from "./context.js";
import type { Conn, ConnTransport } from "./conn.js";
import { Connections, type ConnectionsHost } from "./connections.js";
import type { ActorType } from "./actor-type.js";
import type { StopReason } from "./metrics-port.js";
import { decodeState } from "./state-codec.js";
import { Lifecycle, type LifecycleHost, type Status } from "./lifecycle.js";
import { TurnLoop, type TurnLoopHost } from "./turn-loop.js";
import { runFirstTurn } from "./first-turn.js";
import type { Turn } from "./turn.js";
import type { InstanceHost, Task } from "./task.js";
import { authorize } from "./admission.js";
import { actionTask, alarmTask, type CallHost, type CallVia } from "./calls.js";

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
 *
 * The instance is itself the host each part declares: prototype members cost nothing per actor,
 * a closure apiece about 60 bytes. Parts most actors never use are made on first use.
 */
export class ActorInstance implements OutputGateHost, LifecycleHost, TurnLoopHost, CapabilitiesHost, ConnectionsHost, RawHost, CallHost {
  state: unknown;
  vars: unknown;
  readonly output: OutputGate;
  /** The actor's SQL database, present when its type declares `db`. */
  readonly turnDb: TurnDatabase | undefined;
  /** Present when the actor type declares queues. */
  readonly queues: ActorQueues | undefined;
  private readonly loop: TurnLoop;
  private readonly life: Lifecycle;
  // Made on first use (see the getters): most actors never need them.
  private _calls: CallLog | undefined;
  private _raw: RawHandlers | undefined;
  private _connections: Connections | undefined;
  private _ctx: ActorContext<any, any, any, any> | undefined;
  private _caps: Capabilities | undefined;
  private _log: Logger | undefined;

  constructor(
    readonly type: ActorType,
    readonly id: string,
    readonly key: readonly string[],
    private readonly host: InstanceHost,
    /** The committed state, if the actor's first turn ever committed; and the SQL redo seq the store applied. */
    stored: { state: Uint8Array | undefined; sqlSeq: number },
  ) {
    this.state = stored.state ? decodeState(stored.state) : undefined;
    this.output = new OutputGate(this, stored.state ?? NO_BYTES);
    this.life = new Lifecycle(this);
    this.turnDb = type.config.db ? new TurnDatabase(host.storage, id, type.config.db.migrations ?? [], stored.sqlSeq) : undefined;
    this.loop = new TurnLoop(this);
    this.queues = type.queues.size === 0 ? undefined : new ActorQueues(new QueueWiring(this, host));
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

  /** Raw HTTP and WebSockets: most actors never take either. */
  get raw(): RawHandlers {
    return (this._raw ??= new RawHandlers(this));
  }

  get conns(): ReadonlyMap<string, Conn> {
    return this.connections.map;
  }

  /** The child logger, made the first time the actor logs. */
  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.type.name, actorId: this.id }));
  }

  /** The most recent action calls, for the inspector (gone when the actor sleeps). */
  get calls(): CallLog {
    return (this._calls ??= new CallLog());
  }

  /** `c` in lifecycle hooks. */
  get ctx(): ActorContext<any, any, any, any> {
    return (this._ctx ??= new ActorContext(this));
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
    return this.loop.empty && (this._connections?.map.size ?? 0) === 0 && (this._raw?.sockets.size ?? 0) === 0 && !this.queues?.hasHandlerWork;
  }

  /** True while a turn runs on a non-reentrant actor: a call to itself now would deadlock. */
  get busyWithTurn(): boolean {
    return this.loop.busy > 0 && !this.type.options.reentrant;
  }

  /** The recent calls, oldest first. */
  get recentCalls(): RecentCall[] {
    return this._calls?.recent() ?? [];
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
    this._connections?.broadcast(event, args);
  }

  requestSleep(): void {
    this.life.requestSleep(() => this.afterTurn());
  }

  requestDestroy(): void {
    this.life.requestDestroy(() => this.afterTurn());
  }

  // ---- ways in: every one is a task in the inbox -----------------------------------------

  /**
   * The instance's first turn (its body: first-turn.ts). Its writes commit like any turn's, after
   * `entry` (a new actor's directory entry, when the placement commits it with the first turn).
   * The instance takes calls once it resolved, or with `ran` once the first turn ran (its calls
   * then run after that turn and their replies wait for its commit). A failed first turn leaves
   * it stopped.
   */
  async start(input: unknown, entry: readonly StoreWrite[] = [], ran?: () => void): Promise<"create" | "wake"> {
    const creating = this.output.lastBytes.byteLength === 0;
    const cfg = this.type.config;
    let exposed = false;
    try {
      if (this.turnDb) await this.turnDb.open();
      await new Promise((resolve, reject) =>
        this.loop.enqueue({
          label: creating ? "onCreate" : "onWake",
          internal: true,
          noRequeue: true,
          resolve,
          reject,
          ran: ran && (() => ((exposed = true), ran())),
          run: () => {
            for (const w of entry) this.currentTurn().addWrite(w);
            return runFirstTurn(this, cfg, creating, input);
          },
        }),
      );
      // Once calls were let in, the first turn is durable even if one of them abandoned the instance since.
      if (this.life.abandoned && !exposed) throw errors.actorRestarted();
    } catch (err) {
      if (!this.life.abandoned) {
        this.life.beginStop("shutdown");
        await this.turnDb?.release();
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
    return this._connections?.disconnect(conn, reason) ?? Promise.resolve();
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
      await this._connections?.disconnectAll(reason === "shutdown" ? "shutdown" : "actor_stopped");
      const hook = reason === "destroy" ? cfg.onDestroy : cfg.onSleep;
      if (hook && !this.life.abandoned) {
        await this.runHook(reason, () => hook(this.ctx), true).catch((err) => this.log.error({ err }, `${reason === "destroy" ? "onDestroy" : "onSleep"} failed`));
      }
      await this.output.settled();
    } finally {
      await this.turnDb?.release();
    }
  }

  /** Gone for good: the runtime retired it. */
  markStopped(): void {
    if (!this.life.markStopped()) return;
    this.turnDb?.abandon();
  }

  // ---- @internal: the parts' host interfaces (each part's file says what a member means) ----

  /** What a call that arrives when this instance takes no such work is told. */
  refusal(task: Task): TroupeError | undefined {
    const status = this.life.status;
    if (status === "ready" || (status === "stopping" && task.internal)) return undefined;
    if (status === "crashed") return errors.actorRestarted();
    if (this.life.stopReason === "sleep") return errors.actorStopping();
    if (this.life.stopReason === "destroy") return errors.actorNotFound(this.id);
    return errors.stopping();
  }

  get canRun(): boolean {
    return this.life.running;
  }

  get gone(): boolean {
    return this.life.gone;
  }

  get quiet(): boolean {
    return this.loop.empty;
  }

  get turnsRunning(): number {
    return this.loop.busy;
  }

  get committer(): GroupCommitter {
    return this.host.committer;
  }

  get storage(): StorageDriver {
    return this.host.storage;
  }

  taskContext(task: Task): ActionContext<any, any, any, any> {
    return new ActionContext(this, task.conn, task.chain ?? []);
  }

  currentTurn(): Turn {
    return this.loop.current();
  }

  /** A turn ended (or a connection or socket left): sleep, stop or take the next task. */
  afterTurn(): void {
    const stopping = this.life.afterTurn();
    this.loop.pump();
    if (stopping || this.life.status !== "ready") return;
    this.queues?.pump();
    if (this.idle) this.life.armSleepTimer();
  }

  /** Sends with the current turn's commit, or after the newest commit when outside a turn. */
  emit(send: () => void): void {
    const turn = this.loop.current();
    if (turn.inTask) turn.addEvent(send);
    else this.output.gate(this.output.barrier, send, () => {});
  }

  askToStop(reason: "sleep" | "destroy"): void {
    this.host.stopRequested(this, reason);
  }

  alarmsOf(): StoredAlarm[] {
    return this.host.alarmsOf(this.id);
  }

  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void {
    this.host.alarmsCommitted(changes);
  }

  messageSettled(seq: number, outcome: MessageOutcome): void {
    this.host.messageSettled(seq, outcome);
  }

  alarmPending(id: string): boolean {
    return this.caps.alarmPending(id);
  }

  stageAlarm(id: string, alarm: StoredAlarm | null): void {
    this.caps.stageAlarm(id, alarm);
  }

  restoreState(): void {
    // Concurrent reentrant turns share the state object: restoring it would undo their changes too.
    if (this.type.options.reentrant) return;
    const bytes = this.output.lastBytes;
    try {
      this.state = bytes.byteLength === 0 ? undefined : decodeState(bytes);
    } catch (err) {
      this.log.error({ err }, "could not restore the last snapshot");
    }
  }

  stateChanged(): void {
    const onStateChange = this.type.config.onStateChange;
    if (!onStateChange) return;
    try {
      onStateChange(this.ctx, this.state);
    } catch (err) {
      this.log.error({ err }, "onStateChange threw");
    }
  }

  commitFailed(err: unknown): void {
    if (this.life.gone) return;
    this.log.error({ err }, "state commit failed; restarting the actor from its last committed state");
    this.type.metrics?.stateCommitFailures.inc();
    this.crash("commit_failed");
  }

  timedOut(): void {
    this.crash("timeout");
  }

  private get connections(): Connections {
    return (this._connections ??= new Connections(this));
  }

  private get caps(): Capabilities {
    return (this._caps ??= new Capabilities(this));
  }

  /** Abandons this instance; queued calls move to a fresh one loaded from the store. */
  private crash(cause: "timeout" | "commit_failed"): void {
    if (!this.life.abandon()) return;
    this.queues?.close();
    // The abandoned turn may still hold the SQL write lock; a fresh instance needs the database.
    this.turnDb?.abandon();
    const pending = this.loop.takeInbox();
    this._connections?.closeAll(1011, "actor_restarted");
    this._raw?.closeAll(1011, "actor_restarted");
    this.log.warn({ cause }, "actor instance abandoned");
    const settled = this.output.settled().then(() => this.life.resolveStopped());
    this.host.crashed(this, pending, settled);
  }
}

const NO_BYTES = new Uint8Array(0);
