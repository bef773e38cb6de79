import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import { ActorInstance, type InstanceHost, type Task } from "../actor/instance.js";
import type { StopReason } from "../actor/metrics-port.js";
import { cbor } from "../actor/state-codec.js";
import { errors } from "../common/errors.js";
import { keyToString } from "../common/key.js";
import type { PlacementDriver, PlacementRuntime } from "../storage/placement.js";
import type { ActorRecord, StoredMessage, StoreWrite } from "../storage/types.js";
import { catchUpSql, type SqlCatchUpHost } from "./sql-catch-up.js";

/** What the live set needs from the runtime around it. */
export interface LiveSetHost extends SqlCatchUpHost {
  readonly placement: PlacementDriver;
  readonly logger: Logger;
  readonly instanceHost: InstanceHost;
  typeOf(name: string): ActorType;
  /** A wake loaded these stored messages: their senders must not hand them over again. */
  messagesLoaded(messages: readonly StoredMessage[]): void;
  /** The actor has stored work it could not take now: wake it once it is down. */
  wakeAgain(actorId: string): void;
  /** The actor's stop or crash finished: wake it now if work is waiting for it. */
  maybeRewake(actorId: string): void;
  /** Removes a destroyed actor's data and what the runtime keeps about it. */
  destroyStored(instance: ActorInstance): Promise<void>;
  onInstance?: ((instance: ActorInstance) => void) | undefined;
}

/**
 * The instances live in this runtime, at most one per actor at a time: starting them (the
 * placement's start command), stopping them, and taking over after a crash. New calls for an
 * actor that is loading, unloading or recovering wait for that to end, then find it afresh.
 */
export class LiveSet implements PlacementRuntime {
  private readonly instances = new Map<string, ActorInstance>();
  /**
   * The same instances by key, so a live actor's key resolves without a directory read. A
   * one-part key (the usual kind) is indexed by that part, the string the instance holds anyway,
   * so the index costs no string of its own. Instances of different types with one key share an
   * entry.
   */
  private readonly byKey = new Map<string, ActorInstance | ActorInstance[]>();
  private readonly loading = new Map<string, Promise<ActorInstance>>();
  /** Unloads and crash recoveries in progress. */
  private readonly transitions = new Map<string, Promise<void>>();
  /** Instances already counted out of the live set (a crash during an unload must not count twice). */
  private readonly retired = new WeakSet<ActorInstance>();
  private readonly destroying = new Set<string>();
  /**
   * Actors this process just entered in the directory, until their first turn ends: the writes
   * that enter them, and whom to tell once the new instance takes calls (before it is durable).
   */
  private readonly creating = new Map<string, { record: ActorRecord; writes: StoreWrite[]; live?: (() => void) | undefined }>();
  accepting = true;

  constructor(private readonly host: LiveSetHost) {}

  get count(): number {
    return this.instances.size;
  }

  /** The live instance for an id, without waking it. */
  live(actorId: string): ActorInstance | undefined {
    const inst = this.instances.get(actorId);
    return inst?.status === "ready" ? inst : undefined;
  }

  /**
   * The actor holding (name, key) when it is live here, its creation durable and no destroy
   * under way. A key changes hands only when its holder is destroyed, so with a directory that
   * only this runtime writes (`PlacementDriver.localDirectory`) the answer is the directory's.
   * Undefined says nothing: ask the directory.
   */
  heldBy(name: string, key: readonly string[]): string | undefined {
    const entry = this.byKey.get(indexOf(key));
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return this.holds(entry, name, key) ? entry.id : undefined;
    return entry.find((inst) => this.holds(inst, name, key))?.id;
  }

  private holds(inst: ActorInstance, name: string, key: readonly string[]): boolean {
    return inst.type.name === name && sameKey(inst.key, key) && inst.status === "ready" && !this.creating.has(inst.id) && !this.destroying.has(inst.id);
  }

  ids(): string[] {
    return [...this.instances.keys()];
  }

  isDestroying(actorId: string): boolean {
    return this.destroying.has(actorId);
  }

  /** The unload or recovery of an actor in progress, if any. */
  transition(actorId: string): Promise<void> | undefined {
    return this.transitions.get(actorId);
  }

  /** The live instance for an id; if it is not live, asks the placement to start it here. */
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
      await this.host.placement.requestStart(actorId);
    }
  }

  /**
   * The directory entered this actor just now: a failure of its first turn removes it again.
   * With `live`, the instance takes calls as soon as its first turn ran, and `live` is told then:
   * calls queue behind that turn and their replies wait for its commit. Returns the end of that
   * window (the creator's start ended, however).
   */
  entered(record: ActorRecord, writes: StoreWrite[], live?: () => void): () => void {
    this.creating.set(record.id, { record, writes, live });
    return () => void this.creating.delete(record.id);
  }

  /** The start command: load the actor and run its first turn. Joins a start in progress. */
  start(actorId: string): Promise<void> {
    const live = this.live(actorId);
    if (live) return Promise.resolve();
    // An unload or recovery in progress ends first: one instance per actor, even when a
    // placement sends its start command early.
    const transition = this.transitions.get(actorId);
    if (transition) return transition.then(() => this.start(actorId));
    const existing = this.loading.get(actorId);
    if (existing) return existing.then(() => {});
    if (!this.accepting) return Promise.reject(errors.stopping());
    const load = this.load(actorId);
    this.loading.set(actorId, load);
    const done = load.finally(() => {
      if (this.loading.get(actorId) === load) this.loading.delete(actorId);
    });
    return done.then(() => {});
  }

  /** The stop command. */
  async stop(actorId: string, reason: "sleep" | "destroy"): Promise<void> {
    const inst = this.instances.get(actorId);
    if (inst) await this.stopInstance(inst, reason);
    else if (reason === "destroy") await this.host.placement.destroy(actorId);
  }

  private async load(actorId: string): Promise<ActorInstance> {
    const started = performance.now();
    // One this process just entered has nothing stored yet: no state, no SQL redo to apply.
    const fresh = this.creating.get(actorId);
    const record = fresh?.record ?? (await this.host.placement.findById(actorId));
    if (!record) throw errors.actorNotFound(actorId);
    const type = this.host.typeOf(record.name);
    const sqlSeq = fresh ? 0 : await catchUpSql(this.host, actorId, type);
    const state = fresh ? undefined : await this.host.storage.loadState(actorId);
    const inst = new ActorInstance(type, actorId, record.key, this.host.instanceHost, { state, sqlSeq });
    this.host.onInstance?.(inst);
    // Loaded before the instance is live, so a send that commits meanwhile is delivered exactly once.
    const messages = inst.queues ? await this.host.storage.loadMessages(actorId) : [];
    this.host.messagesLoaded(messages);
    const input = record.input && record.input.byteLength > 0 ? cbor.decode(record.input) : undefined;
    const m = type.metrics;
    let kind: "create" | "wake";
    let exposed = false;
    const expose = fresh?.live && ((): void => {
      exposed = true;
      this.admit(inst);
      m?.actorsActive.inc();
      fresh.live!();
    });
    try {
      kind = await inst.start(input, fresh?.writes, expose);
    } catch (err) {
      // Let in early and failed since: out of the live set (a crash may have counted it out already).
      if (exposed) this.retire(inst, undefined);
      // A creation whose first turn failed: nobody was told of the actor but its creator, so it
      // goes, and the key is free. An older entry whose first turn never committed (a crash came
      // between) stays: a getOrCreate may have handed out its id since, and sent it messages.
      if (state === undefined && this.creating.delete(actorId)) await this.discard(actorId);
      throw err;
    }
    this.creating.delete(actorId);
    if (!exposed) {
      this.admit(inst);
      m?.actorsActive.inc();
    }
    m?.starts[kind].inc();
    m?.startDuration.observe((performance.now() - started) / 1000);
    if (messages.length > 0) inst.queues!.deliver(messages);
    return inst;
  }

  /**
   * Removes an actor whose first turn failed. It is a transition like an unload: callers that
   * find the actor meanwhile (a getOrCreate of its key) wait for it to end, then look again.
   */
  private discard(actorId: string): Promise<void> {
    this.destroying.add(actorId);
    const before = this.transitions.get(actorId);
    let done: Promise<void> | undefined = undefined;
    done = (async () => {
      try {
        await before;
        await this.host.placement.destroy(actorId);
        await this.host.storage.deleteDatabase(actorId);
      } catch (err) {
        this.host.logger.error({ err, actorId }, "could not remove an actor whose first turn failed; its next start runs the first turn again");
      } finally {
        this.destroying.delete(actorId);
        if (this.transitions.get(actorId) === done) this.transitions.delete(actorId);
      }
    })();
    this.transitions.set(actorId, done);
    return done;
  }

  /** Unloads an instance; new calls wait for it, then wake a fresh one. */
  stopInstance(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    const existing = this.transitions.get(inst.id);
    if (inst.status !== "ready") return existing ?? inst.stopped;
    if (reason === "destroy") this.destroying.add(inst.id);
    const done = this.unload(inst, reason).finally(() => {
      if (this.transitions.get(inst.id) === done) this.transitions.delete(inst.id);
      this.host.maybeRewake(inst.id);
    });
    this.transitions.set(inst.id, done);
    return done;
  }

  private async unload(inst: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void> {
    try {
      await inst.stop(reason);
      if (reason === "destroy") await this.host.destroyStored(inst);
      // Messages that arrived while it drained wait in the store; wake it again for them.
      if (reason === "sleep" && inst.queues?.hasHandlerWork) this.host.wakeAgain(inst.id);
    } catch (err) {
      inst.log.error({ err, reason }, "error while unloading the actor");
      // A destroy whose commit was refused left the actor, and any queued messages, in place.
      if (inst.type.hasQueueHandlers) this.host.wakeAgain(inst.id);
    } finally {
      this.retire(inst, reason);
      inst.markStopped();
      if (reason === "destroy") this.destroying.delete(inst.id);
      this.host.placement.stopped(inst.id, reason);
    }
  }

  private admit(inst: ActorInstance): void {
    this.instances.set(inst.id, inst);
    const at = indexOf(inst.key);
    const entry = this.byKey.get(at);
    if (entry === undefined) this.byKey.set(at, inst);
    else if (Array.isArray(entry)) entry.push(inst);
    else this.byKey.set(at, [entry, inst]);
  }

  private unindex(inst: ActorInstance): void {
    const at = indexOf(inst.key);
    const entry = this.byKey.get(at);
    if (entry === inst) this.byKey.delete(at);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((i) => i !== inst);
      if (rest.length === entry.length) return;
      if (rest.length === 1) this.byKey.set(at, rest[0]!);
      else this.byKey.set(at, rest);
    }
  }

  /** Counts an instance out of the live set, once; a creation that never started (no reason) counts no stop. */
  private retire(inst: ActorInstance, reason: StopReason | undefined): void {
    if (this.retired.has(inst)) return;
    this.retired.add(inst);
    if (this.instances.get(inst.id) !== inst) return;
    this.instances.delete(inst.id);
    this.unindex(inst);
    inst.type.metrics?.actorsActive.dec();
    if (reason) inst.type.metrics?.stops[reason].inc();
  }

  /** An instance was abandoned: tasks that never started run on a fresh one once it settled. */
  crashed(inst: ActorInstance, pending: Task[], settled: Promise<void>): void {
    this.retire(inst, "crash");
    this.host.placement.stopped(inst.id, "crash");
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
    // whose store commit failed, must not wait for the next caller to be taken care of. An actor
    // whose first turn never committed has neither, and is being removed (discard).
    if (inst.committedSnapshot.byteLength > 0 && (inst.type.hasQueueHandlers || inst.type.config.db)) {
      this.host.wakeAgain(inst.id);
      void done.then(() => this.host.maybeRewake(inst.id));
    }
  }

  /** Refuses new starts, waits for those in flight, and unloads every instance. */
  async stopAll(): Promise<void> {
    this.accepting = false;
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.instances.values()].map((inst) => this.stopInstance(inst, "shutdown")));
    await Promise.allSettled([...this.transitions.values()]);
  }
}

function indexOf(key: readonly string[]): string {
  return key.length === 1 ? key[0]! : keyToString(key);
}

function sameKey(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
