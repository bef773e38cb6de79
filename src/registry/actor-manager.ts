import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import type { ActorInstance, InstanceHost, Task } from "../actor/instance.js";
import type { StopReason } from "../actor/metrics-port.js";
import type { MessageOutcome } from "../actor/queue.js";
import type { ConnTransport } from "../actor/conn.js";
import type { RawSocketControl } from "../actor/raw-handlers.js";
import { errors, TroupeError } from "../common/errors.js";
import type { ListQuery, StorageDriver } from "../storage/driver.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { PlacementDriver } from "../storage/placement.js";
import type { ActorRecord, StoredAlarm } from "../storage/types.js";
import type { GatewayConnection, InspectableGateway, ResolveMode, ResolvedActor } from "../runtime/gateway.js";
import { Scheduler } from "./scheduler.js";
import { createInProcessClient } from "./in-process-client.js";
import { QueueSends } from "./queue-sends.js";
import { LiveSet } from "./live-set.js";
import { Directory } from "./directory.js";
import { Rewaker } from "./rewake.js";

export type { ResolveMode, ResolvedActor } from "../runtime/gateway.js";

export interface ManagerOptions {
  /** New actor ids; the simulation harness makes them deterministic. */
  newId?: () => string;
  /** Told of every instance constructed, for the harness's one-live-instance check. */
  onInstance?: (instance: ActorInstance) => void;
}

/** The drivers a runtime runs on (src/storage/driver.ts, src/storage/placement.ts). */
export interface Drivers {
  storage: StorageDriver;
  placement: PlacementDriver;
  committer: GroupCommitter;
}

/** How often a call refused by an actor that was going to sleep is retried on its next wake. */
const STOPPING_RETRIES = 5;

/**
 * The runtime's gateway: every way into an actor (actions, messages, connections, raw
 * requests and sockets, alarms, in-process calls) passes here, wakes the actor through the
 * live set, and retries a call the instance refused because it was going to sleep. Its parts:
 * the directory (names to ids), the live set (instances), queue sends, the alarm clock.
 */
export class ActorManager implements InspectableGateway {
  readonly scheduler: Scheduler;
  readonly storage: StorageDriver;
  readonly placement: PlacementDriver;
  readonly committer: GroupCommitter;
  private readonly liveSet: LiveSet;
  private readonly directory: Directory;
  /** Messages sent from outside (src/registry/queue-sends.ts). */
  private readonly sends: QueueSends;
  private readonly rewaker: Rewaker;
  private destroyCount = 0;
  /** Some actor type has onBeforeConnect. */
  private readonly authHooks: boolean;

  constructor(
    readonly types: ReadonlyMap<string, ActorType>,
    drivers: Drivers,
    readonly logger: Logger,
    opts: ManagerOptions = {},
  ) {
    const { storage, placement, committer } = drivers;
    this.authHooks = [...types.values()].some((t) => t.config.onBeforeConnect !== undefined);
    this.storage = storage;
    this.placement = placement;
    this.committer = committer;
    this.scheduler = new Scheduler({ instance: (id) => this.instance(id), metricsOf: (name) => this.types.get(name)?.metrics, logger });
    const instanceHost: InstanceHost = {
      committer,
      storage,
      logger,
      clientFor: (chain) => createInProcessClient(this, chain),
      messageSettled: (seq, outcome) => this.messageSettled(seq, outcome),
      alarmsOf: (id) => this.scheduler.alarmsOf(id),
      alarmsCommitted: (changes) => this.alarmsCommitted(changes),
      stopRequested: (inst, reason) => void this.liveSet.stopInstance(inst as ActorInstance, reason),
      crashed: (inst, pending: Task[], settled) => this.liveSet.crashed(inst as ActorInstance, pending, settled),
    };
    this.liveSet = new LiveSet({
      storage,
      committer,
      placement,
      logger,
      instanceHost,
      typeOf: (name) => this.typeOf(name),
      alarmsCommitted: (changes) => this.alarmsCommitted(changes),
      messageSettled: (seq, outcome) => this.messageSettled(seq, outcome),
      messagesLoaded: (messages) => this.sends.loaded(messages),
      wakeAgain: (id) => this.rewaker.mark(id),
      maybeRewake: (id) => this.rewaker.run(id),
      destroyStored: (inst) => this.destroyStored(inst),
      onInstance: opts.onInstance,
    });
    placement.attach(this.liveSet);
    const accepting = (): boolean => this.liveSet.accepting;
    this.directory = new Directory({
      placement,
      logger,
      typeOf: (name) => this.typeOf(name),
      accepting,
      isDestroying: (id) => this.liveSet.isDestroying(id),
      transition: (id) => this.liveSet.transition(id),
      heldBy: placement.localDirectory ? (name, key) => this.liveSet.heldBy(name, key) : undefined,
      start: (id) => this.instance(id),
      entered: (record, writes, live) => this.liveSet.entered(record, writes, live),
    });
    this.rewaker = new Rewaker({
      logger,
      accepting,
      isDestroying: (id) => this.liveSet.isDestroying(id),
      transition: (id) => this.liveSet.transition(id),
      instance: (id) => this.instance(id),
    });
    this.sends = new QueueSends({
      committer,
      logger,
      recordById: (id) => this.recordById(id),
      typeOf: (name) => this.typeOf(name),
      accepting,
      destroying: (id) => this.liveSet.isDestroying(id),
      destroys: () => this.destroyCount,
      exists: async (id) => (await this.placement.findById(id)) !== undefined,
      queuesOf: async (id) => (await this.instance(id)).queues,
      wakeLater: (id) => this.rewaker.later(id),
    });
  }

  /**
   * Arms the stored alarms (those missed while the process was down fire now), restores the
   * queue-depth gauges, and wakes every actor that has queued work.
   */
  async startBackgroundWork(): Promise<void> {
    this.scheduler.load(await this.storage.loadAlarms());
    this.sends.restoreSeq(await this.storage.maxMessageSeq());
    const backlog = await this.storage.queueBacklog();
    for (const b of backlog) this.types.get(b.actorName)?.metrics?.queues.get(b.queue)?.depth.inc(b.count);
    for (const actorId of new Set(backlog.map((b) => b.actorId))) {
      this.instance(actorId).catch((err) => {
        this.logger.warn({ err, actorId }, "could not wake an actor with queued messages; retrying");
        this.rewaker.later(actorId);
      });
    }
  }

  // ---- the gateway ------------------------------------------------------------------

  resolve(name: string, key: unknown, mode: ResolveMode, input?: unknown, opts?: { early?: boolean }): Promise<ResolvedActor> {
    return this.directory.resolve(name, key, mode, input, opts?.early);
  }

  recordById(actorId: string): Promise<ActorRecord> {
    return this.directory.recordById(actorId);
  }

  /** An action, woken if asleep, retried on the next instance if the current one was going to sleep. */
  callAction(actorId: string, action: string, args: unknown[], via: { params?: unknown; chain?: readonly string[] } = {}): Promise<unknown> {
    return this.onLiveInstance(actorId, (inst) => inst.callAction(action, args, via));
  }

  /**
   * Stores a queue message durably, then hands it to the (woken) actor (src/registry/queue-sends.ts).
   * The sender passes the auth hook first, so a refused sender stores nothing.
   */
  async sendMessage(actorId: string, queue: string, body: unknown, opts: { wait?: boolean; timeoutMs?: number; params?: unknown } = {}): Promise<{ messageId: number; output?: unknown }> {
    // The type is looked up only when some type has the hook: a send is one directory read otherwise.
    if (this.authHooks) {
      const type = this.liveSet.live(actorId)?.type ?? this.typeOf((await this.recordById(actorId)).name);
      if (type.config.onBeforeConnect) await this.onLiveInstance(actorId, (inst) => inst.authorize(opts.params));
    }
    return this.sends.send(actorId, queue, body, opts);
  }

  /** Raw HTTP for onRequest, through the same wake-and-retry door and auth hook as actions. */
  handleRequest(actorId: string, request: Request, params?: unknown): Promise<Response> {
    return this.onLiveInstance(actorId, async (inst) => {
      await inst.authorize(params);
      return inst.raw.handleRequest(request);
    });
  }

  connect(actorId: string, params: unknown, transport: ConnTransport): Promise<GatewayConnection> {
    return this.onLiveInstance(actorId, async (inst) => {
      const conn = await inst.connect(params, transport);
      return {
        id: conn.id,
        call: (action, args) => inst.callAction(action, args, { conn }),
        subscribe: (event) => void conn.subscriptions.add(event),
        unsubscribe: (event) => void conn.subscriptions.delete(event),
        closed: (reason) => inst.disconnect(conn, conn.closedBy ?? reason),
      };
    });
  }

  openRawSocket(actorId: string, control: RawSocketControl, request: { url: string; headers: Record<string, string | string[] | undefined> }, params?: unknown): Promise<void> {
    return this.onLiveInstance(actorId, async (inst) => {
      await inst.authorize(params);
      return inst.raw.openSocket(control, request);
    });
  }

  /** Wakes the actor and runs `fn` on it; a refusal by an instance going to sleep retries on the next. */
  private async onLiveInstance<T>(actorId: string, fn: (inst: ActorInstance) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const inst = await this.instance(actorId);
      try {
        return await fn(inst);
      } catch (err) {
        if (!(err instanceof TroupeError && err.group === "actor" && err.code === "stopping") || attempt >= STOPPING_RETRIES) throw err;
      }
    }
  }

  // ---- what the inspector and the harness read ---------------------------------------

  /** The live instance for an id, waking it if needed. */
  instance(actorId: string): Promise<ActorInstance> {
    return this.liveSet.instance(actorId);
  }

  live(actorId: string): ActorInstance | undefined {
    return this.liveSet.live(actorId);
  }

  liveIds(): string[] {
    return this.liveSet.ids();
  }

  get liveCount(): number {
    return this.liveSet.count;
  }

  typeOf(name: string): ActorType {
    const type = this.types.get(name);
    if (!type) throw errors.actorNameNotFound(name);
    return type;
  }

  alarmsOf(actorId: string): StoredAlarm[] {
    return this.scheduler.alarmsOf(actorId);
  }

  stop(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    return this.liveSet.stopInstance(inst, reason);
  }

  async wake(actorId: string): Promise<void> {
    await this.instance(actorId);
  }

  async sleep(actorId: string): Promise<void> {
    const live = this.live(actorId);
    if (live) await this.stop(live, "sleep");
  }

  list(q: ListQuery): Promise<ActorRecord[]> {
    return this.placement.list(q);
  }

  async destroy(actorId: string): Promise<void> {
    await this.stop(await this.instance(actorId), "destroy");
  }

  // ---- bookkeeping ------------------------------------------------------------------

  private messageSettled(seq: number, outcome: MessageOutcome): void {
    this.sends.settled(seq, outcome);
  }

  private alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void {
    for (const [id, alarm] of changes) {
      if (alarm) this.scheduler.add(alarm);
      else this.scheduler.remove(id);
    }
  }

  /** Deletes the actor and its data; its stored backlog leaves the queue-depth gauges. */
  private async destroyStored(inst: ActorInstance): Promise<void> {
    // New sends are refused (destroying); wait for those in flight so the backlog count is exact.
    await this.sends.inFlight(inst.id);
    const backlog = inst.queues ? await this.storage.loadMessages(inst.id) : [];
    await this.placement.destroy(inst.id);
    this.destroyCount++;
    for (const msg of backlog) {
      inst.type.metrics?.queues.get(msg.queue)?.depth.dec();
      // A sender waiting for the handler hears now, not at its own timeout.
      this.messageSettled(msg.seq, { ok: false, error: errors.actorNotFound(`${inst.id} (destroyed before the message was handled)`) });
    }
    this.scheduler.removeActor(inst.id);
    await this.storage.deleteDatabase(inst.id);
  }

  /** Refuses new work, lets in-flight work finish and commit, runs onSleep everywhere. */
  async shutdown(): Promise<void> {
    this.liveSet.accepting = false;
    this.scheduler.stop();
    await this.directory.settled();
    await this.liveSet.stopAll();
    await this.committer.drain();
    // Senders still waiting for a handler hear now: their messages are stored for the next start.
    this.sends.interruptWaiters();
  }
}
