import type { ListQuery } from "./driver.js";
import type { ActorRecord, StoreWrite } from "./types.js";

/** Where an actor runs now. */
export type ActorHost = { kind: "local" } | { kind: "remote"; runtime: string };

export interface CreateRequest {
  name: string;
  key: string[];
  /** CBOR-encoded input for the actor's first turn. */
  input?: Uint8Array | undefined;
}

/** Why a runtime stopped an actor on its own. */
export type StoppedReason = "sleep" | "destroy" | "crash" | "shutdown";

/**
 * The commands a placement sends to this runtime. The runtime implements them; the driver
 * declares them, so a driver never imports the runtime.
 */
export interface PlacementRuntime {
  /** Run the actor here: load it (its first turn creates it if new). Resolves once it takes calls. */
  start(actorId: string): Promise<void>;
  /** Stop the actor here, committing everything first; "destroy" also removes it. */
  stop(actorId: string, reason: "sleep" | "destroy"): Promise<void>;
}

/**
 * The placement driver: the directory of actors, which runtime hosts each one, and the start
 * and stop commands. Embedded, the directory sits in the local store and every actor runs in
 * this process (src/storage/embedded-placement.ts). On an engine, the engine owns the
 * directory, places each actor on one runtime, and sends start and stop commands to it;
 * docs/ARCHITECTURE.md maps the members onto the engine's protocol.
 */
export interface PlacementDriver {
  readonly kind: string;
  /**
   * Only this runtime writes the directory, so a key held by an actor live here changes hands
   * only when this runtime destroys that actor: the runtime resolves such keys from memory.
   */
  readonly localDirectory?: boolean;
  /** Connects this runtime: start and stop commands go to it from now on. */
  attach(runtime: PlacementRuntime): void;
  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined>;
  findById(actorId: string): Promise<ActorRecord | undefined>;
  list(q: ListQuery): Promise<ActorRecord[]>;
  /** Enters an actor durably; when (name, key) is taken, returns the holder with `created: false`. */
  create(req: CreateRequest): Promise<{ record: ActorRecord; created: boolean }>;
  /**
   * Enters an actor together with its first turn: returns its record and the writes that enter
   * it, which the runtime commits in the first turn's transaction. A creation then costs one
   * commit, and a first turn that fails leaves nothing behind. Only for a key the caller found
   * free and creates alone (the directory's single flight); if the key is taken after all, that
   * commit fails. Optional: a placement whose directory is elsewhere enters actors with `create`.
   */
  entry?(req: CreateRequest): { record: ActorRecord; writes: StoreWrite[] };
  /** Removes the actor and everything stored for it. Idempotent. */
  destroy(actorId: string): Promise<void>;
  /** The runtime hosting the actor now, or undefined when it runs nowhere. */
  hostOf(actorId: string): Promise<ActorHost | undefined>;
  /** A call reached this runtime for an actor not live here: have it started (resolves once it is). */
  requestStart(actorId: string): Promise<void>;
  /** This runtime stopped the actor on its own; the placement may start it again anywhere. */
  stopped(actorId: string, reason: StoppedReason): void;
}
