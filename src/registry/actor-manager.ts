import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import { ActorInstance, type InstanceHost, type Task } from "../actor/instance.js";
import { keyToString, normalizeKey } from "../actor/key.js";
import type { StopReason } from "../actor/metrics-port.js";
import { assertStorable, cbor, decodeState, encodeState } from "../actor/state-codec.js";
import { errors, TroupeError } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { ActorRecord, ActorStore, StoredAlarm, StoredMessage } from "../storage/types.js";
import type { MessageOutcome } from "../actor/queue.js";
import { Scheduler } from "./scheduler.js";
import { createInProcessClient } from "./in-process-client.js";

export type ResolveMode = "get" | "getOrCreate" | "create";

export interface ResolvedActor {
  actorId: string;
  name: string;
  key: string[];
  created: boolean;
}

/**
 * Owns the actor directory and the live instances: creates, wakes, routes calls to, and
 * unloads actors. Every instance of one actor id lives here at most once at a time.
 */
export class ActorManager implements InstanceHost {
  private readonly instances = new Map<string, ActorInstance>();
  private readonly loading = new Map<string, Promise<ActorInstance>>();
  /** Unloads and crash recoveries in progress; new calls wait for them, then wake afresh. */
  private readonly transitions = new Map<string, Promise<void>>();
  private readonly creating = new Map<string, Promise<ResolvedActor>>();
  private accepting = true;

  readonly scheduler: Scheduler;

  constructor(
    readonly types: ReadonlyMap<string, ActorType>,
    readonly store: ActorStore,
    readonly committer: GroupCommitter,
    readonly logger: Logger,
  ) {
    this.scheduler = new Scheduler({ instance: (id) => this.instance(id), metricsOf: (name) => this.types.get(name)?.metrics, logger });
  }

  /** Senders waiting (`wait: true`) for a message's handler, by message seq. */
  private readonly messageWaiters = new Map<number, (outcome: MessageOutcome) => void>();
  private lastSeq = 0;

  /**
   * Arms the stored alarms (those missed while the process was down fire now), restores the
   * queue-depth gauges, and wakes every actor that has queued work.
   */
  async startBackgroundWork(): Promise<void> {
    this.scheduler.load(await this.store.loadAlarms());
    this.lastSeq = Math.max(this.lastSeq, await this.store.maxMessageSeq());
    const backlog = await this.store.queueBacklog();
    for (const b of backlog) this.types.get(b.actorName)?.metrics?.queues.get(b.queue)?.depth.inc(b.count);
    for (const actorId of new Set(backlog.map((b) => b.actorId))) {
      this.instance(actorId).catch((err) => this.logger.warn({ err, actorId }, "could not wake an actor with queued messages"));
    }
  }

  /**
   * Stores a queue message durably, then hands it to the (woken) actor. With `wait`, resolves
   * with the handler's result once that is durable, or fails after `timeoutMs`.
   */
  async sendMessage(actorId: string, queue: string, body: unknown, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<{ messageId: number; output?: unknown }> {
    if (!this.accepting) throw errors.stopping();
    const record = await this.recordById(actorId);
    const type = this.typeOf(record.name);
    const spec = type.queues.get(queue);
    if (!spec) throw errors.queueNotFound(type.name, queue);
    if (opts.wait && !spec.handler) throw errors.invalidRequest(`Queue "${queue}" has no handler, so there is no result to wait for`);
    assertStorable(body, "body");
    const now = Date.now();
    const message: StoredMessage = { seq: ++this.lastSeq, actorId, queue, body: cbor.encode(body), enqueuedAt: now, attempts: 0, availableAt: now };
    let waited: Promise<MessageOutcome> | undefined;
    if (opts.wait) waited = new Promise((resolve) => this.messageWaiters.set(message.seq, resolve));
    try {
      await this.committer.enqueue({ kind: "queuePush", actorId, message });
    } catch (err) {
      this.messageWaiters.delete(message.seq);
      throw errors.commitFailed(err);
    }
    const m = type.metrics?.queues.get(queue);
    m?.sent.inc();
    m?.depth.inc();
    this.instance(actorId).then(
      (inst) => inst.queues?.deliver([message]),
      (err) => this.logger.warn({ err, actorId }, "queued a message for an actor that could not wake; it is delivered on its next wake"),
    );
    if (!waited) return { messageId: message.seq };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      waited,
      new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (outcome === "timeout") {
      this.messageWaiters.delete(message.seq);
      throw new TroupeError("queue", "queue_wait_timed_out", `No result within ${timeoutMs} ms; the message stays queued (id ${message.seq})`, { status: 408, metadata: { messageId: message.seq } });
    }
    if (!outcome.ok) throw outcome.error;
    return { messageId: message.seq, output: outcome.output };
  }

  client(callerId: string): unknown {
    return createInProcessClient(this, callerId);
  }

  messageSettled(seq: number, outcome: MessageOutcome): void {
    const waiter = this.messageWaiters.get(seq);
    if (!waiter) return;
    this.messageWaiters.delete(seq);
    waiter(outcome);
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
    const found = await this.store.findByKey(name, key);
    if (found) {
      if (mode === "create") throw errors.actorAlreadyExists(name);
      return { actorId: found.id, name, key, created: false };
    }
    if (mode === "get") throw errors.actorNotFound(`${name} ${keyToString(key)}`);
    const slot = `${name}\u0000${keyToString(key)}`;
    const inFlight = this.creating.get(slot);
    if (inFlight) {
      const winner = await inFlight;
      if (mode === "create") throw errors.actorAlreadyExists(name);
      return { ...winner, created: false };
    }
    const creation = this.create(type, key, input, mode);
    this.creating.set(slot, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(slot);
    }
  }

  async recordById(actorId: string): Promise<ActorRecord> {
    const record = await this.store.findById(actorId);
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
      const load = this.wake(actorId);
      this.loading.set(actorId, load);
      try {
        return await load;
      } finally {
        this.loading.delete(actorId);
      }
    }
  }

  async callAction(actorId: string, action: string, args: unknown[]): Promise<unknown> {
    const inst = await this.instance(actorId);
    return inst.callAction(action, args);
  }

  private async create(type: ActorType, key: string[], input: unknown, mode: ResolveMode): Promise<ResolvedActor> {
    if (!this.accepting) throw errors.stopping();
    const started = performance.now();
    const record: ActorRecord = { id: newActorId(), name: type.name, key, createdAt: Date.now() };
    const inst = new ActorInstance(type, record.id, key, undefined, new Uint8Array(), this);
    const cfg = type.config;
    const ctx = inst.context;
    inst.state = cfg.createState ? await cfg.createState(ctx, input) : structuredClone(cfg.state);
    inst.vars = cfg.createVars ? await cfg.createVars(ctx) : undefined;
    await cfg.onCreate?.(ctx, input);
    const bytes = encodeState(inst.state);
    inst.resetSnapshot(bytes);
    // KV writes or alarms made by createState/onCreate land in the same transaction as the actor.
    const staged = inst.takeStagedWrites();
    try {
      await this.committer.enqueue([{ kind: "create", record, state: bytes }, ...staged.writes]);
    } catch (err) {
      this.logger.error({ err, actor: type.name }, "could not store a new actor");
      throw errors.commitFailed(err);
    }
    for (const f of staged.settle) f();
    const stored = await this.store.findByKey(type.name, key);
    if (stored && stored.id !== record.id) {
      // Another writer created it first; ours was never stored.
      if (mode === "create") throw errors.actorAlreadyExists(type.name);
      return { actorId: stored.id, name: type.name, key, created: false };
    }
    await this.activate(inst, "create", started);
    return { actorId: record.id, name: type.name, key, created: true };
  }

  private async wake(actorId: string): Promise<ActorInstance> {
    const started = performance.now();
    const record = await this.recordById(actorId);
    const type = this.typeOf(record.name);
    const bytes = await this.store.loadState(actorId);
    if (!bytes) throw errors.actorNotFound(actorId);
    const inst = new ActorInstance(type, actorId, record.key, decodeState(bytes), bytes, this);
    const createVars = type.config.createVars;
    if (createVars) inst.vars = await createVars(inst.context);
    await this.activate(inst, "wake", started);
    if (inst.queues) inst.queues.deliver(await this.store.loadMessages(actorId));
    return inst;
  }

  /** Runs onWake as the first turn; the instance takes calls only once it succeeded. */
  private async activate(inst: ActorInstance, kind: "create" | "wake", started: number): Promise<void> {
    const onWake = inst.type.config.onWake;
    if (onWake) {
      try {
        await inst.runHook("wake", () => onWake(inst.context));
      } catch (err) {
        inst.beginStop();
        inst.markStopped();
        throw err;
      }
    }
    this.instances.set(inst.id, inst);
    const m = inst.type.metrics;
    m?.actorsActive.inc();
    m?.starts[kind].inc();
    m?.startDuration.observe((performance.now() - started) / 1000);
    inst.markStarted();
  }

  stop(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    const existing = this.transitions.get(inst.id);
    if (inst.status !== "ready") return existing ?? inst.stopped;
    inst.beginStop();
    const done = this.unload(inst, reason).finally(() => this.transitions.delete(inst.id));
    this.transitions.set(inst.id, done);
    return done;
  }

  private async unload(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    const cfg = inst.type.config;
    try {
      await inst.drain();
      await inst.disconnectAll(reason === "shutdown" ? "shutdown" : "actor_stopped");
      const hook = reason === "destroy" ? cfg.onDestroy : cfg.onSleep;
      if (hook) await inst.runHook(reason === "destroy" ? "destroy" : "sleep", () => hook(inst.context), true).catch((err) => inst.log.error({ err }, `${reason === "destroy" ? "onDestroy" : "onSleep"} failed`));
      await inst.settled();
      inst.releaseDatabase();
      if (reason === "destroy") {
        await this.committer.enqueue({ kind: "destroy", actorId: inst.id });
        this.scheduler.removeActor(inst.id);
        this.store.deleteActorDatabase(inst.id);
      }
    } catch (err) {
      inst.log.error({ err, reason }, "error while unloading the actor");
    } finally {
      this.instances.delete(inst.id);
      inst.type.metrics?.actorsActive.dec();
      inst.type.metrics?.stops[reason].inc();
      inst.markStopped();
    }
  }

  crashed(inst: ActorInstance, pending: Task[], settled: Promise<void>): void {
    this.instances.delete(inst.id);
    inst.type.metrics?.actorsActive.dec();
    inst.type.metrics?.stops.crash.inc();
    const done = settled.finally(() => this.transitions.delete(inst.id));
    this.transitions.set(inst.id, done);
    for (const task of pending) {
      if (task.conn || task.noRequeue) task.reject(errors.actorRestarted());
      else done.then(() => this.instance(inst.id)).then((fresh) => fresh.enqueue(task), task.reject);
    }
  }

  /** Refuses new work, lets in-flight work finish and commit, runs onSleep everywhere. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    this.scheduler.stop();
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.instances.values()].map((inst) => this.stop(inst, "shutdown")));
    await Promise.allSettled([...this.transitions.values()]);
    await this.committer.drain();
  }
}

function newActorId(): string {
  return randomBytes(12).toString("base64url");
}
