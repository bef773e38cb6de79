import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import { ActorInstance, type InstanceHost, type Task } from "../actor/instance.js";
import { keyToString, normalizeKey } from "../common/key.js";
import type { StopReason } from "../actor/metrics-port.js";
import { decodeState, encodeState } from "../actor/state-codec.js";
import { errors, TroupeError } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { ActorRecord, ActorStore, StoredAlarm, StoreWrite } from "../storage/types.js";
import type { MessageOutcome } from "../actor/queue.js";
import type { GatewayConnection, InspectableGateway, ResolveMode, ResolvedActor } from "../runtime/gateway.js";
import type { ConnTransport } from "../actor/conn.js";
import type { RawSocketControl } from "../actor/raw-handlers.js";
import { Scheduler } from "./scheduler.js";
import { createInProcessClient } from "./in-process-client.js";
import { QueueSends } from "./queue-sends.js";
import { catchUpSql, type SqlCatchUpHost } from "./sql-catch-up.js";

export type { ResolveMode, ResolvedActor } from "../runtime/gateway.js";

export interface ManagerOptions {
  /** New actor ids; the simulation harness makes them deterministic. */
  newId?: () => string;
  /** Told of every instance constructed, for the harness's one-live-instance check. */
  onInstance?: (instance: ActorInstance) => void;
}

/** A create that did not land and whose key has no holder now. */
const LOST: ResolvedActor = Object.freeze({ actorId: "", name: "", key: [], created: false });

/** Waking an actor with pending work after a failed store commit: attempts and first backoff. */
const REWAKE_ATTEMPTS = 8;
const REWAKE_BACKOFF_MS = 50;

/** How often a call refused by an actor that was going to sleep is retried on its next wake. */
const STOPPING_RETRIES = 5;

/**
 * Owns the actor directory and the live instances: creates, wakes, routes calls to, and
 * unloads actors. Every instance of one actor id lives here at most once at a time.
 */
export class ActorManager implements InstanceHost, InspectableGateway {
  private readonly instances = new Map<string, ActorInstance>();
  private readonly loading = new Map<string, Promise<ActorInstance>>();
  /** Unloads and crash recoveries in progress; new calls wait for them, then wake afresh. */
  private readonly transitions = new Map<string, Promise<void>>();
  private readonly creating = new Map<string, Promise<ResolvedActor>>();
  /** Instances already counted out of the live set (a crash during an unload must not count twice). */
  private readonly retired = new WeakSet<ActorInstance>();
  private accepting = true;
  private readonly newId: () => string;
  private readonly onInstance: ((instance: ActorInstance) => void) | undefined;

  readonly scheduler: Scheduler;

  constructor(
    readonly types: ReadonlyMap<string, ActorType>,
    readonly store: ActorStore,
    readonly committer: GroupCommitter,
    readonly logger: Logger,
    opts: ManagerOptions = {},
  ) {
    this.newId = opts.newId ?? newActorId;
    this.onInstance = opts.onInstance;
    this.scheduler = new Scheduler({ instance: (id) => this.instance(id), metricsOf: (name) => this.types.get(name)?.metrics, logger });
    this.sqlHost = {
      store,
      committer,
      alarmsCommitted: (changes) => this.alarmsCommitted(changes),
      messageSettled: (seq, outcome) => this.messageSettled(seq, outcome),
    };
    this.sends = new QueueSends({
      committer,
      logger,
      recordById: (id) => this.recordById(id),
      typeOf: (name) => this.typeOf(name),
      accepting: () => this.accepting,
      destroying: (id) => this.destroying.has(id),
      destroys: () => this.destroyCount,
      exists: async (id) => (await this.store.findById(id)) !== undefined,
      queuesOf: async (id) => (await this.instance(id)).queues,
      wakeLater: (id) => this.wakeLater(id),
    });
  }

  private readonly sqlHost: SqlCatchUpHost;
  /** Messages sent from outside (src/registry/queue-sends.ts). */
  private readonly sends: QueueSends;
  private readonly destroying = new Set<string>();
  private destroyCount = 0;
  /** Actors that got a message while unloading: they wake again once unloaded. */
  private readonly rewake = new Set<string>();

  /**
   * Arms the stored alarms (those missed while the process was down fire now), restores the
   * queue-depth gauges, and wakes every actor that has queued work.
   */
  async startBackgroundWork(): Promise<void> {
    this.scheduler.load(await this.store.loadAlarms());
    this.sends.restoreSeq(await this.store.maxMessageSeq());
    const backlog = await this.store.queueBacklog();
    for (const b of backlog) this.types.get(b.actorName)?.metrics?.queues.get(b.queue)?.depth.inc(b.count);
    for (const actorId of new Set(backlog.map((b) => b.actorId))) {
      this.instance(actorId).catch((err) => {
        this.logger.warn({ err, actorId }, "could not wake an actor with queued messages; retrying");
        this.wakeLater(actorId);
      });
    }
  }

  /** Stores a queue message durably, then hands it to the (woken) actor (src/registry/queue-sends.ts). */
  sendMessage(actorId: string, queue: string, body: unknown, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<{ messageId: number; output?: unknown }> {
    return this.sends.send(actorId, queue, body, opts);
  }

  /** The actor has stored work it could not take now: wake it once it is down, or after a pause. */
  private wakeLater(actorId: string): void {
    this.rewake.add(actorId);
    const t = this.transitions.get(actorId);
    if (t) void t.then(() => this.runRewake(actorId));
    else setTimeout(() => this.runRewake(actorId), REWAKE_BACKOFF_MS).unref();
  }

  private runRewake(actorId: string, attempt = 0): void {
    if (attempt === 0 && !this.rewake.delete(actorId)) return;
    if (!this.accepting || this.destroying.has(actorId)) return;
    this.instance(actorId).catch((err) => {
      if (err instanceof TroupeError && err.code === "actor_not_found") return;
      // The store may be failing for a while: keep trying, backing off, so the work is not stranded.
      if (attempt >= REWAKE_ATTEMPTS) {
        this.logger.error({ err, actorId }, "could not wake an actor with pending work; it runs on its next call");
        return;
      }
      this.logger.warn({ err, actorId, attempt }, "could not wake an actor with pending work; retrying");
      setTimeout(() => this.runRewake(actorId, attempt + 1), REWAKE_BACKOFF_MS * 2 ** attempt).unref();
    });
  }

  clientFor(chain: readonly string[]): unknown {
    return createInProcessClient(this, chain);
  }

  messageSettled(seq: number, outcome: MessageOutcome): void {
    this.sends.settled(seq, outcome);
  }

  alarmsOf(actorId: string): StoredAlarm[] {
    return this.scheduler.alarmsOf(actorId);
  }

  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void {
    for (const [id, alarm] of changes) {
      if (alarm) this.scheduler.add(alarm);
      else this.scheduler.remove(id);
    }
  }

  get liveCount(): number {
    return this.instances.size;
  }

  /** The live instance for an id, without waking it. */
  live(actorId: string): ActorInstance | undefined {
    const inst = this.instances.get(actorId);
    return inst?.status === "ready" ? inst : undefined;
  }

  /** Ids of the live instances (for the inspector's awake filter). */
  liveIds(): string[] {
    return [...this.instances.keys()];
  }

  typeOf(name: string): ActorType {
    const type = this.types.get(name);
    if (!type) throw errors.actorNameNotFound(name);
    return type;
  }

  /** Maps (name, key) to an actor id, creating the actor when the mode allows. */
  async resolve(name: string, rawKey: unknown, mode: ResolveMode, input?: unknown): Promise<ResolvedActor> {
    const type = this.typeOf(name);
    const key = normalizeKey(rawKey);
    const slot = `${name}\u0000${keyToString(key)}`;
    for (;;) {
      // A creation in flight is not in the store yet: join it rather than racing it.
      const inFlight = this.creating.get(slot);
      if (inFlight) {
        const winner = await inFlight.catch(() => undefined);
        if (!winner || winner === LOST) continue;
        if (mode === "create") throw errors.actorAlreadyExists(name);
        return { ...winner, created: false };
      }
      const found = await this.store.findByKey(name, key);
      if (found && !this.destroying.has(found.id)) {
        if (mode === "create") throw errors.actorAlreadyExists(name);
        return { actorId: found.id, name, key, created: false };
      }
      if (mode === "get") throw errors.actorNotFound(`${name} ${keyToString(key)}`);
      if (this.creating.has(slot)) continue;
      if (found) {
        // Being destroyed: the new actor takes the key once the old one is gone.
        await this.transitions.get(found.id);
        continue;
      }
      const creation = this.create(type, key, input, mode);
      this.creating.set(slot, creation);
      let result: ResolvedActor;
      try {
        result = await creation;
      } finally {
        this.creating.delete(slot);
      }
      // Our create lost to a holder that is gone again: the key is free, try once more.
      if (result !== LOST) return result;
    }
  }

  async recordById(actorId: string): Promise<ActorRecord> {
    const record = this.destroying.has(actorId) ? undefined : await this.store.findById(actorId);
    if (!record) throw errors.actorNotFound(actorId);
    return record;
  }

  /** The live instance for an id, waking it from the store if needed. */
  async instance(actorId: string): Promise<ActorInstance> {
    for (;;) {
      const live = this.instances.get(actorId);
      if (live && live.status === "ready") return live;
      const transition = this.transitions.get(actorId);
      if (transition) {
        await transition;
        continue;
      }
      const loading = this.loading.get(actorId);
      if (loading) return loading;
      if (!this.accepting) throw errors.stopping();
      if (this.destroying.has(actorId)) throw errors.actorNotFound(actorId);
      const load = this.wake(actorId);
      this.loading.set(actorId, load);
      try {
        return await load;
      } finally {
        if (this.loading.get(actorId) === load) this.loading.delete(actorId);
      }
    }
  }

  /**
   * The one way a call reaches an actor's action: wakes it, and when the instance was going
   * to sleep and refused the call unrun, retries on the next instance.
   */
  callAction(actorId: string, action: string, args: unknown[], chain?: readonly string[]): Promise<unknown> {
    return this.onLiveInstance(actorId, (inst) => inst.callAction(action, args, undefined, chain));
  }

  /** Raw HTTP for onRequest, through the same wake-and-retry door as actions. */
  handleRequest(actorId: string, request: Request): Promise<Response> {
    return this.onLiveInstance(actorId, (inst) => inst.raw.handleRequest(request));
  }

  connect(actorId: string, params: unknown, transport: ConnTransport): Promise<GatewayConnection> {
    return this.onLiveInstance(actorId, async (inst) => {
      const conn = await inst.connect(params, transport);
      return {
        id: conn.id,
        call: (action, args) => inst.callAction(action, args, conn),
        subscribe: (event) => void conn.subscriptions.add(event),
        unsubscribe: (event) => void conn.subscriptions.delete(event),
        closed: (reason) => inst.disconnect(conn, conn.closedBy ?? reason),
      };
    });
  }

  openRawSocket(actorId: string, control: RawSocketControl, request: { url: string; headers: Record<string, string | string[] | undefined> }): Promise<void> {
    return this.onLiveInstance(actorId, (inst) => inst.raw.openSocket(control, request));
  }

  /** Wakes the actor and runs `fn` on it; a refusal by an instance going to sleep retries on the next. */
  private async onLiveInstance<T>(actorId: string, fn: (inst: ActorInstance) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const inst = await this.instance(actorId);
      try {
        return await fn(inst);
      } catch (err) {
        if (!(err instanceof TroupeError && err.code === "actor_stopping") || attempt >= STOPPING_RETRIES) throw err;
      }
    }
  }

  private async create(type: ActorType, key: string[], input: unknown, mode: ResolveMode): Promise<ResolvedActor> {
    if (!this.accepting) throw errors.stopping();
    const started = performance.now();
    const record: ActorRecord = { id: this.newId(), name: type.name, key, createdAt: Date.now() };
    const inst = new ActorInstance(type, record.id, key, undefined, new Uint8Array(), this);
    this.onInstance?.(inst);
    // Until the instance is live, anything that wants it (an alarm set in onCreate) waits here.
    let publish!: (v: ActorInstance | Promise<never>) => void;
    const live = new Promise<ActorInstance>((r) => (publish = r));
    live.catch(() => {});
    this.loading.set(record.id, live);
    try {
      const cfg = type.config;
      const ctx = inst.context;
      const timeoutMs = type.options.actionTimeoutMs;
      await withDeadline(
        (async () => {
          inst.state = cfg.createState ? await cfg.createState(ctx, input) : structuredClone(cfg.state);
          inst.vars = cfg.createVars ? await cfg.createVars(ctx) : undefined;
          await cfg.onCreate?.(ctx, input);
        })(),
        timeoutMs,
        "onCreate",
      );
      const bytes = encodeState(inst.state);
      inst.resetSnapshot(bytes);
      // KV writes or alarms made by createState/onCreate land in the same transaction as the actor.
      const staged = inst.takeStagedWrites();
      let sqlWrite: StoreWrite | undefined;
      try {
        sqlWrite = inst.commitCreationSql();
      } catch (err) {
        this.store.deleteActorDatabase(record.id);
        throw errors.commitFailed(err);
      }
      try {
        await this.committer.enqueue([{ kind: "create", record, state: bytes }, ...staged.writes, ...(sqlWrite ? [sqlWrite] : [])]);
      } catch (err) {
        this.logger.error({ err, actor: type.name }, "could not store a new actor");
        inst.releaseDatabase();
        this.store.deleteActorDatabase(record.id);
        throw errors.commitFailed(err);
      }
      // The store skips a create whose key is taken (one batch carries many actors), so ask
      // whether ours landed: the key's holder may be another actor, or none if it was destroyed.
      if (!(await this.store.findById(record.id))) {
        inst.beginStop("shutdown");
        inst.markStopped();
        this.store.deleteActorDatabase(record.id);
        publish(Promise.reject(errors.actorNotFound(record.id)));
        const stored = await this.store.findByKey(type.name, key);
        if (stored && mode === "create") throw errors.actorAlreadyExists(type.name);
        return stored ? { actorId: stored.id, name: type.name, key, created: false } : LOST;
      }
      await this.activate(inst, "create", started);
      for (const f of staged.settle) f();
      publish(inst);
      return { actorId: record.id, name: type.name, key, created: true };
    } catch (err) {
      if (!inst.crashed) {
        inst.beginStop("shutdown");
        inst.markStopped();
      }
      publish(Promise.reject(err));
      throw err;
    } finally {
      if (this.loading.get(record.id) === live) this.loading.delete(record.id);
    }
  }

  private async wake(actorId: string): Promise<ActorInstance> {
    const started = performance.now();
    const record = await this.recordById(actorId);
    const type = this.typeOf(record.name);
    const sqlSeq = await catchUpSql(this.sqlHost, actorId, type);
    const bytes = await this.store.loadState(actorId);
    if (!bytes) throw errors.actorNotFound(actorId);
    const inst = new ActorInstance(type, actorId, record.key, decodeState(bytes), bytes, this, sqlSeq);
    this.onInstance?.(inst);
    // Loaded before the instance is live, so a send that commits meanwhile is delivered exactly once.
    const messages = inst.queues ? await this.store.loadMessages(actorId) : [];
    this.sends.loaded(messages);
    const createVars = type.config.createVars;
    try {
      if (createVars) inst.vars = await withDeadline(Promise.resolve(createVars(inst.context)), type.options.actionTimeoutMs, "createVars");
    } catch (err) {
      inst.beginStop("shutdown");
      inst.markStopped();
      throw err;
    }
    await this.activate(inst, "wake", started);
    if (messages.length > 0) inst.queues!.deliver(messages);
    return inst;
  }

  /** Runs onWake as the first turn; the instance takes calls only once it succeeded. */
  private async activate(inst: ActorInstance, kind: "create" | "wake", started: number): Promise<void> {
    const onWake = inst.type.config.onWake;
    if (onWake) {
      try {
        await inst.runHook("wake", () => onWake(inst.context));
      } catch (err) {
        if (!inst.crashed) {
          inst.beginStop("shutdown");
          inst.markStopped();
        }
        throw err;
      }
    }
    if (inst.crashed) throw errors.actorRestarted();
    this.instances.set(inst.id, inst);
    const m = inst.type.metrics;
    m?.actorsActive.inc();
    m?.starts[kind].inc();
    m?.startDuration.observe((performance.now() - started) / 1000);
    inst.markStarted();
  }

  /** Counts an instance out of the live set, once. */
  private retire(inst: ActorInstance, reason: StopReason): boolean {
    if (this.retired.has(inst)) return false;
    this.retired.add(inst);
    if (this.instances.get(inst.id) !== inst) return false;
    this.instances.delete(inst.id);
    inst.type.metrics?.actorsActive.dec();
    inst.type.metrics?.stops[reason].inc();
    return true;
  }

  stop(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    const existing = this.transitions.get(inst.id);
    if (inst.status !== "ready") return existing ?? inst.stopped;
    inst.beginStop(reason);
    if (reason === "destroy") this.destroying.add(inst.id);
    const done = this.unload(inst, reason).finally(() => {
      if (this.transitions.get(inst.id) === done) this.transitions.delete(inst.id);
      this.runRewake(inst.id);
    });
    this.transitions.set(inst.id, done);
    return done;
  }

  private async unload(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    const cfg = inst.type.config;
    try {
      await inst.drain();
      await inst.disconnectAll(reason === "shutdown" ? "shutdown" : "actor_stopped");
      const hook = reason === "destroy" ? cfg.onDestroy : cfg.onSleep;
      if (hook && !inst.crashed) await inst.runHook(reason === "destroy" ? "destroy" : "sleep", () => hook(inst.context), true).catch((err) => inst.log.error({ err }, `${reason === "destroy" ? "onDestroy" : "onSleep"} failed`));
      await inst.settled();
      inst.releaseDatabase();
      if (reason === "destroy") await this.destroyStored(inst);
      // Messages that arrived while it drained wait in the store; wake it again for them.
      if (reason === "sleep" && inst.queues?.hasHandlerWork) this.rewake.add(inst.id);
    } catch (err) {
      inst.log.error({ err, reason }, "error while unloading the actor");
      // A destroy whose commit was refused left the actor, and any queued messages, in place.
      if (inst.type.hasQueueHandlers) this.rewake.add(inst.id);
    } finally {
      this.retire(inst, reason);
      inst.markStopped();
      if (reason === "destroy") this.destroying.delete(inst.id);
    }
  }

  /** Deletes the actor's data; its stored backlog leaves the queue-depth gauges. */
  private async destroyStored(inst: ActorInstance): Promise<void> {
    // New sends are refused (destroying); wait for those in flight so the backlog count is exact.
    await this.sends.inFlight(inst.id);
    const backlog = inst.queues ? await this.store.loadMessages(inst.id) : [];
    await this.committer.enqueue({ kind: "destroy", actorId: inst.id });
    this.destroyCount++;
    for (const msg of backlog) {
      inst.type.metrics?.queues.get(msg.queue)?.depth.dec();
      // A sender waiting for the handler hears now, not at its own timeout.
      this.messageSettled(msg.seq, { ok: false, error: errors.actorNotFound(`${inst.id} (destroyed before the message was handled)`) });
    }
    this.scheduler.removeActor(inst.id);
    this.store.deleteActorDatabase(inst.id);
  }

  crashed(inst: ActorInstance, pending: Task[], settled: Promise<void>): void {
    this.retire(inst, "crash");
    // A crash during an unload: new calls wait for both.
    const unloading = this.transitions.get(inst.id);
    const done: Promise<void> = (unloading ? Promise.all([unloading, settled]).then(() => {}) : settled).finally(() => {
      if (this.transitions.get(inst.id) === done) this.transitions.delete(inst.id);
    });
    this.transitions.set(inst.id, done);
    for (const task of pending) {
      if (task.conn || task.noRequeue) task.reject(errors.actorRestarted());
      else done.then(() => this.instance(inst.id)).then((fresh) => fresh.enqueue(task), task.reject);
    }
    // Stored messages (a handler's ack may have been lost with the instance), or an SQL turn
    // whose store commit failed, must not wait for the next caller to be taken care of.
    if (inst.type.hasQueueHandlers || this.store.hasActorDatabase(inst.id)) {
      this.rewake.add(inst.id);
      void done.then(() => this.runRewake(inst.id));
    }
  }

  /** Refuses new work, lets in-flight work finish and commit, runs onSleep everywhere. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    this.scheduler.stop();
    await Promise.allSettled([...this.creating.values()]);
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.instances.values()].map((inst) => this.stop(inst, "shutdown")));
    await Promise.allSettled([...this.transitions.values()]);
    await this.committer.drain();
    // Senders still waiting for a handler hear now: their messages are stored for the next start.
    this.sends.interruptWaiters();
  }
}

function newActorId(): string {
  return randomBytes(12).toString("base64url");
}

/** Bounds code run outside a turn (createState, onCreate, createVars) like a turn. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(errors.actionTimedOut(what, ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
