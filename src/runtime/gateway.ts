import type { ActorInstance } from "../actor/instance.js";
import type { ActorRecord, ActorStore, StoredAlarm } from "../storage/types.js";
import type { ActorType } from "../actor/actor-type.js";
import type { StopReason } from "../actor/metrics-port.js";

export type ResolveMode = "get" | "getOrCreate" | "create";

export interface ResolvedActor {
  actorId: string;
  name: string;
  key: string[];
  created: boolean;
}

/**
 * The way into actors for the edges (HTTP, WebSocket, the inspector, the in-process client).
 * They depend on this interface, declared below them, never on the manager that implements it
 * (src/registry/actor-manager.ts). Every call it takes passes the same readiness, admission and
 * timeout rules; docs/ARCHITECTURE.md draws the path.
 */
export interface ActorGateway {
  /** Maps (name, key) to an actor id, creating the actor when the mode allows. */
  resolve(name: string, key: unknown, mode: ResolveMode, input?: unknown): Promise<ResolvedActor>;
  recordById(actorId: string): Promise<ActorRecord>;
  /** An action, woken if asleep, retried on the next instance if the current one was going to sleep. */
  callAction(actorId: string, action: string, args: unknown[], chain?: readonly string[]): Promise<unknown>;
  sendMessage(actorId: string, queue: string, body: unknown, opts?: { wait?: boolean; timeoutMs?: number }): Promise<{ messageId: number; output?: unknown }>;
  /** Raw HTTP for onRequest. */
  handleRequest(actorId: string, request: Request): Promise<Response>;
  /** The live instance, woken if needed: connections and raw sockets attach to it. */
  instance(actorId: string): Promise<ActorInstance>;
}

/** What the inspector reads besides the gateway: the live set, the store, the alarm clock. */
export interface InspectableGateway extends ActorGateway {
  readonly store: ActorStore;
  live(actorId: string): ActorInstance | undefined;
  liveIds(): string[];
  alarmsOf(actorId: string): StoredAlarm[];
  typeOf(name: string): ActorType;
  stop(instance: ActorInstance, reason: Exclude<StopReason, "crash">): Promise<void>;
}
