/**
 * Errors that cross the wire use RivetKit's shape, `{ group, code, message, metadata }`,
 * so clients written for RivetKit can read them. `status` is the HTTP status for the code.
 */
export interface ErrorPayload {
  group: string;
  code: string;
  message: string;
  metadata?: unknown;
}

export class TroupeError extends Error {
  readonly group: string;
  readonly code: string;
  readonly status: number;
  readonly metadata: unknown;

  constructor(group: string, code: string, message: string, opts: { status?: number; metadata?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "TroupeError";
    this.group = group;
    this.code = code;
    this.status = opts.status ?? 500;
    this.metadata = opts.metadata;
  }

  toPayload(): ErrorPayload {
    const p: ErrorPayload = { group: this.group, code: this.code, message: this.message };
    if (this.metadata !== undefined) p.metadata = this.metadata;
    return p;
  }
}

/** Thrown by actor code to send a typed, expected error to the caller. */
export class UserError extends TroupeError {
  /** `status` is the HTTP status (default 400); a refusal by onBeforeConnect answers 403. */
  constructor(message: string, opts: { code?: string; metadata?: unknown; status?: number } = {}) {
    super("user", opts.code ?? "user_error", message, { status: opts.status ?? 400, metadata: opts.metadata });
    this.name = "UserError";
  }
}

/** The stable error codes Troupe itself raises. Documented in docs/PROTOCOL.md. */
export const errors = {
  malformedBody: (detail: string) => new TroupeError("request", "malformed_body", `Malformed request body: ${detail}`, { status: 400 }),
  invalidRequest: (detail: string) => new TroupeError("request", "invalid_request", detail, { status: 400 }),
  unsupportedMediaType: (type: string) =>
    new TroupeError("request", "unsupported_media_type", `Unsupported Content-Type "${type.slice(0, 100)}": send application/json, or application/octet-stream with x-rivet-encoding cbor or bare`, { status: 415 }),
  bodyTooLarge: (limit: number) =>
    new TroupeError("request", "body_too_large", `Request body exceeds the limit of ${limit} bytes`, { status: 413, metadata: { limitBytes: limit } }),
  routeNotFound: () => new TroupeError("request", "route_not_found", "No route matches this path", { status: 404 }),
  methodNotAllowed: (allow: string) => new TroupeError("request", "method_not_allowed", `Method not allowed; use ${allow}`, { status: 405 }),
  invalidKey: (detail: string) => new TroupeError("actor", "invalid_key", `Invalid actor key: ${detail}`, { status: 400 }),
  actorNameNotFound: (name: string) =>
    new TroupeError("actor", "actor_name_not_found", `No actor type named "${truncate(name)}" is registered`, { status: 404 }),
  actionNotFound: (actorName: string, action: string) =>
    new TroupeError("actor", "action_not_found", `Actor "${actorName}" has no action named "${truncate(action)}"`, { status: 404 }),
  queueNotFound: (actorName: string, queue: string) =>
    new TroupeError("queue", "queue_not_found", `Actor "${actorName}" has no queue named "${truncate(queue)}"`, { status: 404 }),
  actorNotFound: (what: string) => new TroupeError("actor", "not_found", `Actor not found: ${truncate(what)}`, { status: 404 }),
  actorAlreadyExists: (name: string) =>
    new TroupeError("actor", "duplicate_key", `An actor "${name}" with this key already exists`, { status: 409 }),
  actionTimedOut: (turn: string, ms: number) =>
    new TroupeError("actor", "action_timed_out", `Action timed out: "${truncate(turn)}" did not finish within ${ms} ms; its changes were not applied`, { status: 408, metadata: { timeoutMs: ms } }),
  upgradeRequired: () => new TroupeError("request", "upgrade_required", "This path takes a WebSocket upgrade", { status: 426 }),
  rawHandlerNotFound: (actorName: string, handler: "onRequest" | "onWebSocket") =>
    new TroupeError("actor", "raw_handler_not_found", `Actor "${actorName}" has no ${handler} handler`, { status: 404 }),
  selfCall: () =>
    new TroupeError("actor", "self_call", "An actor cannot call its own actions through c.client() during a turn (it would wait for itself); call the function directly", { status: 400 }),
  invalidSchedule: (detail: string) => new TroupeError("schedule", "invalid_schedule", detail, { status: 400 }),
  kvLimitExceeded: (detail: string) => new TroupeError("kv", "kv_limit_exceeded", detail, { status: 400 }),
  queueHasHandler: (queue: string) =>
    new TroupeError("queue", "queue_has_handler", `Queue "${truncate(queue)}" has a handler; next() reads queues declared without one`, { status: 400 }),
  queueMessageDead: (attempts?: number) =>
    new TroupeError("queue", "queue_message_dead", attempts === undefined ? "The message failed its last attempt and is now a dead letter" : `The message failed ${attempts} attempts and is now a dead letter`, {
      status: 500,
      metadata: attempts === undefined ? undefined : { attempts },
    }),
  queueWaitTimedOut: (timeoutMs: number, messageId: number) =>
    new TroupeError("queue", "queue_wait_timed_out", `No result within ${timeoutMs} ms; the message stays queued (id ${messageId})`, { status: 408, metadata: { messageId } }),
  sqlError: (detail: string, sqliteCode?: string) =>
    new TroupeError("sql", "sql_error", detail, { status: 400, metadata: sqliteCode === undefined ? undefined : { sqliteCode } }),
  sqlForbidden: () =>
    new TroupeError("sql", "sql_forbidden", "ATTACH, DETACH, VACUUM INTO and the _troupe_redo table are not allowed: an actor's database is its own, and Troupe keeps its turn records there", { status: 400 }),
  sqlUnavailable: (why: "reentrant" | "undeclared") =>
    new TroupeError(
      "sql",
      "sql_unavailable",
      why === "reentrant"
        ? "c.db is not available in reentrant actors: their turns overlap, and one SQLite connection has one transaction"
        : "c.db needs a database declared in actor(): add `db: { migrations: [...] }` (it is opened before the actor's first turn)",
      { status: 400 },
    ),
  sqlMigrationError: (detail: string) => new TroupeError("sql", "sql_migration_error", detail, { status: 500 }),
  actorRestarted: () =>
    new TroupeError("actor", "actor_restarted", "The actor restarted from its last committed state before this call finished", { status: 503 }),
  actorStopping: () =>
    new TroupeError("actor", "stopping", "The actor is going to sleep; the call was not run, and a retry wakes it", { status: 503 }),
  callCycle: (chain: readonly string[]) =>
    new TroupeError("actor", "call_cycle", `c.client() call cycle: ${chain.map((id) => truncate(id)).join(" -> ")}; a non-reentrant actor waiting on this call cannot take it`, { status: 409, metadata: { chain } }),
  queueWaitInterrupted: (messageId: number) =>
    new TroupeError("queue", "queue_wait_interrupted", `The server is shutting down before the handler ran; the message stays queued (id ${messageId}) and is handled after restart`, { status: 503, metadata: { messageId } }),
  stateNotEnabled: () =>
    new TroupeError("actor", "state_not_enabled", "This actor declares no state: give actor() `state` or `createState` to use c.state", { status: 500 }),
  invalidState: (detail: string) => new TroupeError("actor", "invalid_state", `Actor state is not storable: ${detail}`, { status: 500 }),
  commitFailed: (cause?: unknown) =>
    new TroupeError("storage", "state_commit_failed", "The actor's state could not be committed; the change was not applied", { status: 500, cause }),
  connectionRefused: (message: string) => new TroupeError("connection", "connection_refused", message, { status: 403 }),
  stopping: () => new TroupeError("server", "server_stopping", "The server is shutting down", { status: 503 }),
  originNotAllowed: (origin: string) =>
    new TroupeError("request", "origin_not_allowed", `Origin ${truncate(origin)} may not call this server; list it in setup({ cors: { origins } })`, { status: 403 }),
  requestTimedOut: () => new TroupeError("request", "request_timed_out", "The request's headers or body did not arrive in time", { status: 408 }),
  tooManyAuthFailures: (retryAfterSeconds: number) =>
    new TroupeError("request", "too_many_auth_failures", `Too many failed token attempts from this address; retry in ${retryAfterSeconds} s`, { status: 429, metadata: { retryAfterSeconds } }),
  tooManyConnections: (limit: number) =>
    new TroupeError("connection", "too_many_connections", `This address already has ${limit} connections open`, { status: 429, metadata: { limit } }),
  serverAtCapacity: (limit: number) =>
    new TroupeError("server", "server_at_capacity", `The server holds its limit of ${limit} connections; retry later`, { status: 503, metadata: { limit } }),
  tooManyEarlyFrames: (frames: number, bytes: number) =>
    new TroupeError("connection", "too_many_early_frames", `More than ${frames} frames or ${bytes} bytes sent before the connection was admitted`, { status: 429, metadata: { frames, bytes } }),
  tooManyPendingCalls: (calls: number, bytes: number) =>
    new TroupeError("connection", "too_many_pending_calls", `More than ${calls} calls or ${bytes} bytes of calls awaiting replies`, { status: 429, metadata: { calls, bytes } }),
  tooManySubscriptions: (limit: number) =>
    new TroupeError("connection", "too_many_subscriptions", `More than ${limit} subscriptions on one connection`, { status: 429, metadata: { limit } }),
  upgradeTimedOut: (ms: number) => new TroupeError("connection", "upgrade_timed_out", `The connection was not admitted within ${ms} ms`, { status: 408, metadata: { timeoutMs: ms } }),
  idleTimeout: (ms: number) => new TroupeError("connection", "idle_timeout", `No pong or message for ${ms} ms`, { status: 408, metadata: { timeoutMs: ms } }),
  messageTooLong: (limit: number) =>
    new TroupeError("message", "incoming_too_long", `A WebSocket message exceeds the limit of ${limit} bytes (setup({ maxBodyBytes }))`, { status: 413, metadata: { limitBytes: limit } }),
  outgoingTooLong: (bytes: number, limit: number) =>
    new TroupeError("message", "outgoing_too_long", `The result is ${bytes} bytes, over the limit of ${limit} (setup({ maxResponseBytes })); the call ran and its changes are committed`, {
      status: 500,
      metadata: { bytes, limitBytes: limit },
    }),
  actorOverloaded: (limit: number) =>
    new TroupeError("actor", "actor_overloaded", `The actor already has ${limit} calls waiting; retry later`, { status: 503, metadata: { limit } }),
  // RivetKit's own (group, code) pairs, which its client acts on (docs/PROTOCOL.md, issue 13).
  rivetInvalidRequest: (detail: string, cause?: unknown) => new TroupeError("request", "invalid", `Invalid request: ${detail}`, { status: 400, cause }),
  rivetInvalidEncoding: (value: string) => new TroupeError("encoding", "invalid", `Invalid encoding \`${truncate(value)}\``, { status: 400 }),
  rivetNamespaceNotFound: (namespace: string) =>
    new TroupeError("namespace", "not_found", `Namespace \`${truncate(namespace)}\` does not exist: Troupe serves one namespace, \`default\``, { status: 400 }),
  internal: () => new TroupeError("actor", "internal_error", "An internal error occurred", { status: 500 }),
  requestHandlerNoResponse: () => new TroupeError("actor", "invalid_response", "The onRequest handler must return a Response", { status: 500 }),
} as const;

function truncate(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** What a caller may see of any thrown value: typed errors pass, anything else becomes internal_error. */
export function toPublicError(err: unknown): TroupeError {
  return err instanceof TroupeError ? err : errors.internal();
}
