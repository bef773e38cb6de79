/**
 * The messages of RivetKit's client protocol as a program sees them: user values (args, outputs,
 * event args, queue bodies, error metadata) are plain JS values, ids are bigints. codec.ts turns
 * them into JSON, CBOR or BARE bytes and back. Field names follow the protocol's own.
 */

/** Which actor answered, as RivetKit's v4 errors may carry it; the client re-resolves on it. */
export interface ActorSpecifier {
  actorId: string;
  generation: number;
  key?: string;
}

// MARK: HTTP, client to server

/** POST …/action/{name}. `args` is the action's argument list. */
export interface HttpActionRequest {
  args: unknown[];
}

/** POST …/queue/{name}. rivetkit's client always sends `name` (also in the path) and `wait`. */
export interface HttpQueueSendRequest {
  body: unknown;
  name?: string;
  wait?: boolean;
  /** Milliseconds; only meaningful with `wait`. */
  timeout?: number;
}

// MARK: HTTP, server to client

export interface HttpActionResponse {
  output: unknown;
}

export interface HttpQueueSendResponse {
  status: "completed" | "timedOut";
  /** Left out when there is none (not waited for, timed out, or the handler returned nothing). */
  response?: unknown;
  /**
   * Troupe's addition, in json and cbor only (BARE's struct has no room for it): the message's
   * id in the actor's queue. RivetKit's client ignores fields it does not know.
   */
  messageId?: number;
}

/** Any non-2xx answer: RivetKit's `{group, code, message, metadata}`. */
export interface HttpResponseError {
  group: string;
  code: string;
  message: string;
  metadata?: unknown;
  actor?: ActorSpecifier;
}

// MARK: WebSocket (…/connect), client to server

export interface ActionRequest {
  id: bigint;
  name: string;
  args: unknown[];
}

export interface SubscriptionRequest {
  eventName: string;
  subscribe: boolean;
}

/** The body of a ToServer frame. There is no client Init: the server speaks first. */
export type ToServer = { tag: "ActionRequest"; val: ActionRequest } | { tag: "SubscriptionRequest"; val: SubscriptionRequest };

// MARK: WebSocket, server to client

export interface Init {
  actorId: string;
  connectionId: string;
}

/** An action's failure when `actionId` is set, else the connection's (the client then fails all in flight). */
export interface ConnError extends HttpResponseError {
  actionId: bigint | null;
}

export interface ActionResponse {
  id: bigint;
  output: unknown;
}

/** `args` is spread into the client's listeners, so it is always a list. */
export interface Event {
  name: string;
  args: unknown[];
}

/** The body of a ToClient frame. */
export type ToClient =
  | { tag: "Init"; val: Init }
  | { tag: "Error"; val: ConnError }
  | { tag: "ActionResponse"; val: ActionResponse }
  | { tag: "Event"; val: Event };
