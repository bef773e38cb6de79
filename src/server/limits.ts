/**
 * `setup({ limits })`: every cap and timeout a client meets at the edges (docs/PROTOCOL.md,
 * "Limits"). Each bounds what one client can make the server hold.
 */
export interface LimitsConfig {
  /** TCP connections to `listen()`'s server, all clients together (HTTP and WebSocket). */
  maxConnections?: number;
  /** TCP connections to `listen()`'s server from one client address. */
  maxConnectionsPerAddress?: number;
  /** WebSocket connections (`/connect` and raw `/websocket`), all clients together. */
  maxWebSockets?: number;
  /** WebSocket connections from one client address. */
  maxWebSocketsPerAddress?: number;
  /** Frames a WebSocket may send before its connection is admitted. */
  maxEarlyFrames?: number;
  /** Bytes of those frames. */
  maxEarlyBytes?: number;
  /** Calls one connection may have awaiting replies. */
  maxPendingCalls?: number;
  /** Bytes of the frames of those calls. */
  maxPendingCallBytes?: number;
  /** Distinct events one connection may subscribe to. */
  maxSubscriptions?: number;
  /** Failed token attempts per client address per minute (the bucket also holds this many). */
  authFailuresPerMinute?: number;
  /** Time to receive a request's headers (`server.headersTimeout`). */
  headersTimeoutMs?: number;
  /** Time to receive a whole request, body included (`server.requestTimeout`). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (`server.keepAliveTimeout`). */
  keepAliveTimeoutMs?: number;
  /** From a complete upgrade request to an admitted connection (or an opened raw socket). */
  upgradeTimeoutMs?: number;
  /** The server pings every WebSocket this often. */
  pingIntervalMs?: number;
  /** A WebSocket silent (no pong, no message) for longer than this is closed. */
  idleTimeoutMs?: number;
}

export type Limits = Readonly<Required<LimitsConfig>>;

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerAddress: 1_024,
  maxWebSockets: 10_000,
  maxWebSocketsPerAddress: 256,
  maxEarlyFrames: 1_024,
  maxEarlyBytes: 4 * MiB,
  maxPendingCalls: 1_024,
  maxPendingCallBytes: 8 * MiB,
  maxSubscriptions: 256,
  authFailuresPerMinute: 10,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  upgradeTimeoutMs: 30_000,
  pingIntervalMs: 15_000,
  idleTimeoutMs: 30_000,
});

// Timers take at most 2^31 - 1 ms; counts may be Infinity to turn a cap off.
const MAX_TIMER = 2_147_483_647;

/** Fills in the defaults and refuses a typo or an impossible value at setup time. */
export function resolveLimits(config: LimitsConfig | undefined): Limits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(config ?? {})) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`setup(): limits.${key} is not a known limit (see docs/PROTOCOL.md, "Limits")`);
    if (value === undefined) continue;
    const isTimer = key.endsWith("Ms");
    const ok = typeof value === "number" && (isTimer ? Number.isInteger(value) && value >= 1 && value <= MAX_TIMER : value === Infinity || (Number.isInteger(value) && value >= 1));
    if (!ok) throw new TypeError(`setup(): limits.${key} must be ${isTimer ? `an integer from 1 to ${MAX_TIMER}` : "a positive integer or Infinity"}`);
    out[key] = value;
  }
  const limits = out as Required<LimitsConfig>;
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new TypeError("setup(): limits.headersTimeoutMs may not exceed limits.requestTimeoutMs");
  if (limits.pingIntervalMs > limits.idleTimeoutMs) throw new TypeError("setup(): limits.pingIntervalMs may not exceed limits.idleTimeoutMs");
  return Object.freeze(limits);
}
