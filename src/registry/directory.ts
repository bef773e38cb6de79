import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import { assertStorable, cbor } from "../actor/state-codec.js";
import { keySlot, keyToString, normalizeKey } from "../common/key.js";
import { errors, TroupeError } from "../common/errors.js";
import type { PlacementDriver } from "../storage/placement.js";
import type { ActorRecord, StoreWrite } from "../storage/types.js";
import type { ResolveMode, ResolvedActor } from "../runtime/gateway.js";

/** What resolving names needs from the runtime around it. */
export interface DirectoryHost {
  readonly placement: PlacementDriver;
  readonly logger: Logger;
  typeOf(name: string): ActorType;
  accepting(): boolean;
  isDestroying(actorId: string): boolean;
  /** The actor's unload in progress, if any. */
  transition(actorId: string): Promise<void> | undefined;
  /**
   * The actor holding (name, key), when the runtime knows it without the directory (a live
   * actor whose key only this runtime can free); undefined when it does not know.
   */
  heldBy?(name: string, key: readonly string[]): string | undefined;
  /** Has the actor started here; its first turn creates a new actor's state. */
  start(actorId: string): Promise<unknown>;
  /**
   * The actor was entered by this creation (`writes`, if any, commit with its first turn): if its
   * first turn fails, it is removed. Returns the window's end.
   */
  entered(record: ActorRecord, writes: StoreWrite[], live?: () => void): () => void;
}

/** A create that did not land and whose key has no holder now: try again. */
const LOST: ResolvedActor = Object.freeze({ actorId: "", name: "", key: [], created: false });

/**
 * Names to actors: (name, key) to an id through the placement's directory, creating the actor
 * when the mode allows. A creation is complete once the actor's first turn committed; callers
 * for the same key meanwhile join it rather than race it.
 */
export class Directory {
  private readonly creating = new Map<string, Promise<ResolvedActor>>();

  constructor(private readonly host: DirectoryHost) {}

  /**
   * With `early`, a new actor is returned once its first turn ran, before that turn is durable:
   * for a caller whose next step is a call into the actor, which then queues behind the first
   * turn and whose reply waits for its commit. Anyone else who asks meanwhile (and every caller
   * without `early`) waits until the creation is durable.
   */
  async resolve(name: string, rawKey: unknown, mode: ResolveMode, input?: unknown, early = false): Promise<ResolvedActor> {
    const type = this.host.typeOf(name);
    const key = normalizeKey(rawKey);
    const slot = keySlot(name, keyToString(key));
    for (;;) {
      const inFlight = this.creating.get(slot);
      if (inFlight) {
        const winner = await inFlight.catch(() => undefined);
        if (!winner || winner === LOST) continue;
        if (mode === "create") throw errors.actorAlreadyExists(name);
        return { ...winner, created: false };
      }
      const held = this.host.heldBy?.(name, key);
      if (held !== undefined) {
        if (mode === "create") throw errors.actorAlreadyExists(name);
        return { actorId: held, name, key, created: false };
      }
      const found = await this.host.placement.findByKey(name, key);
      if (found && !this.host.isDestroying(found.id)) {
        if (mode === "create") throw errors.actorAlreadyExists(name);
        return { actorId: found.id, name, key, created: false };
      }
      if (mode === "get") throw errors.actorNotFound(`${name} ${keyToString(key)}`);
      if (this.creating.has(slot)) continue;
      if (found) {
        // Being destroyed: the new actor takes the key once the old one is gone.
        await this.host.transition(found.id);
        continue;
      }
      let live: ((r: ResolvedActor) => void) | undefined;
      const takesCalls = early ? new Promise<ResolvedActor>((r) => (live = r)) : undefined;
      const creation = this.create(type, key, input, mode, live);
      this.creating.set(slot, creation);
      const ended = creation.finally(() => {
        if (this.creating.get(slot) === creation) this.creating.delete(slot);
      });
      ended.catch(() => {});
      const result = await (takesCalls ? Promise.race([takesCalls, creation]) : ended);
      if (result !== LOST) return result;
    }
  }

  /** Resolves once no creation is in flight. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.creating.values()]);
  }

  async recordById(actorId: string): Promise<ActorRecord> {
    const record = this.host.isDestroying(actorId) ? undefined : await this.host.placement.findById(actorId);
    if (!record) throw errors.actorNotFound(actorId);
    return record;
  }

  private async create(type: ActorType, key: string[], input: unknown, mode: ResolveMode, live?: (r: ResolvedActor) => void): Promise<ResolvedActor> {
    if (!this.host.accepting()) throw errors.stopping();
    let encoded: Uint8Array | undefined;
    if (input !== undefined) {
      assertStorable(input, "input");
      encoded = cbor.encode(input);
    }
    const req = { name: type.name, key, input: encoded };
    const { placement } = this.host;
    if (placement.entry) {
      // The entry commits with the first turn: one commit, and nothing stored if that turn fails.
      const { record, writes } = placement.entry(req);
      const resolved: ResolvedActor = { actorId: record.id, name: type.name, key, created: true };
      await this.startEntered(record, writes, live && (() => live(resolved)));
      return resolved;
    }
    let entered: { record: ActorRecord; created: boolean };
    try {
      entered = await placement.create(req);
    } catch (err) {
      this.host.logger.error({ err, actor: type.name }, "could not store a new actor");
      throw err instanceof TroupeError ? err : errors.commitFailed(err);
    }
    const { record } = entered;
    if (!entered.created) {
      if (this.host.isDestroying(record.id)) return LOST;
      if (mode === "create") throw errors.actorAlreadyExists(type.name);
      return { actorId: record.id, name: type.name, key, created: false };
    }
    await this.startEntered(record, []);
    return { actorId: record.id, name: type.name, key, created: true };
  }

  /** Its first turn creates it; if that fails, the live set removes it again and the key is free. */
  private async startEntered(record: ActorRecord, writes: StoreWrite[], live?: () => void): Promise<void> {
    const done = this.host.entered(record, writes, live);
    try {
      await this.host.start(record.id);
    } finally {
      done();
    }
  }
}
