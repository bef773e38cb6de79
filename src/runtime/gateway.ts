import type { ConnTransport } from "../actor/conn.js";
import type { RawSocketControl } from "../actor/raw-handlers.js";
import type { ListQuery, StorageDriver } from "../storage/driver.js";
import type { PlacementDriver } from "../storage/placement.js";
import type { ActorRecord, StoredAlarm } from "../storage/types.js";
import type { ActorType } from "../actor/actor-type.js";
import type { RecentCall } from "../actor/call-log.js";
import type { Conn } from "../actor/conn.js";

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
  /**
   * Maps (name, key) to an actor id, creating the actor when the mode allows. With `early`, a
   * new actor's id comes back once its first turn ran, before that turn is durable: only for a
   * caller whose next step is an action, which queues behind the first turn and whose reply the
   * output gate holds until the creation is durable (a failed creation fails the action).
   */
  resolve(name: string, key: unknown, mode: ResolveMode, input?: unknown, opts?: { early?: boolean }): Promise<ResolvedActor>;
  recordById(actorId: string): Promise<ActorRecord>;
  /**
   * An action, woken if asleep, retried on the next instance if the current one was going to
   * sleep. `params` are the caller's connection params: they pass the actor's auth hook.
   */
  callAction(actorId: string, action: string, args: unknown[], via?: { params?: unknown; chain?: readonly string[] }): Promise<unknown>;
  sendMessage(actorId: string, queue: string, body: unknown, opts?: { wait?: boolean; timeoutMs?: number; params?: unknown }): Promise<{ messageId: number; output?: unknown }>;
  /** Actors in id order, from the directory (`name` filters; at most `limit`). */
  list(q: ListQuery): Promise<ActorRecord[]>;
  /** Destroys the actor (waking it first, so onDestroy runs). */
  destroy(actorId: string): Promise<void>;
  /** Raw HTTP for onRequest, after the auth hook passed `params`. */
  handleRequest(actorId: string, request: Request, params?: unknown): Promise<Response>;
  /** Admits a connection (onBeforeConnect, createConnState, onConnect as one turn). */
  connect(actorId: string, params: unknown, transport: ConnTransport): Promise<GatewayConnection>;
  /** Hands a raw socket to onWebSocket; its listeners run as turns. */
  openRawSocket(actorId: string, control: RawSocketControl, request: { url: string; headers: Record<string, string | string[] | undefined> }, params?: unknown): Promise<void>;
}

/** An admitted connection, as its transport sees it. */
export interface GatewayConnection {
  readonly id: string;
  /** An action over this connection: it dies with the connection, never moves to another instance. */
  call(action: string, args: unknown[]): Promise<unknown>;
  subscribe(event: string): void;
  unsubscribe(event: string): void;
  /** The transport closed; `reason` labels the close metric unless the actor closed it. */
  closed(reason: string): Promise<void>;
}

/** A live actor as the inspector sees it: what it holds in memory now. */
export interface InspectedActor {
  readonly vars: unknown;
  readonly conns: ReadonlyMap<string, Conn>;
  readonly inboxDepth: number;
  /** The last committed state's bytes (empty while its first turn runs). */
  readonly committedSnapshot: Uint8Array;
  readonly recentCalls: RecentCall[];
}

/** What the inspector reads and does besides the gateway: the live set, the drivers, the alarm clock. */
export interface InspectableGateway extends ActorGateway {
  readonly storage: StorageDriver;
  readonly placement: PlacementDriver;
  live(actorId: string): InspectedActor | undefined;
  liveIds(): string[];
  alarmsOf(actorId: string): StoredAlarm[];
  typeOf(name: string): ActorType;
  /** Starts the actor if it is not live. */
  wake(actorId: string): Promise<void>;
  /** Puts the actor to sleep if it is live. */
  sleep(actorId: string): Promise<void>;
}
