/** KV operations, one label value each. */
export type KvOp = "get" | "put" | "delete" | "list" | "get_batch" | "put_batch" | "delete_batch";
export const KV_OPS: readonly KvOp[] = ["get", "put", "delete", "list", "get_batch", "put_batch", "delete_batch"];

/** SQL statement kinds, one label value each. */
export type SqlKind = "select" | "insert" | "update" | "delete" | "ddl" | "other";
export const SQL_KINDS: readonly SqlKind[] = ["select", "insert", "update", "delete", "ddl", "other"];

/**
 * The handles the runtime updates, bound per actor type by src/metrics. The runtime
 * depends on these shapes only, so metrics can be switched off (undefined) and the actor
 * core stays independent of the exposition engine.
 */
export interface CounterLike {
  inc(n?: number): void;
}
export interface GaugeLike {
  inc(n?: number): void;
  dec(n?: number): void;
  set(v: number): void;
}
export interface HistogramLike {
  observe(v: number): void;
}

export type StopReason = "sleep" | "destroy" | "shutdown" | "crash";
export type ActionOutcome = "ok" | "user_error" | "error" | "timeout";

export interface ActionMetrics extends Record<ActionOutcome, CounterLike> {
  duration: HistogramLike;
}

export interface ActorTypeMetrics {
  actorsActive: GaugeLike;
  starts: { create: CounterLike; wake: CounterLike };
  startDuration: HistogramLike;
  stops: Record<StopReason, CounterLike>;
  actions: ReadonlyMap<string, ActionMetrics>;
  inboxDepth: GaugeLike;
  connectionsActive: GaugeLike;
  connectionsOpened: CounterLike;
  connectionsClosed(reason: string): CounterLike;
  stateCommits: CounterLike;
  stateCommitFailures: CounterLike;
  stateCommitDuration: HistogramLike;
  stateBytes: HistogramLike;
  /** Bound on the type's first use of that op. */
  kv(op: KvOp): KvOpMetrics;
  /** Bound on the type's first statement of that kind. */
  sql(kind: SqlKind): SqlKindMetrics;
  /** Bound on the type's first alarm (scheduled, or restored from the store). */
  alarms(): AlarmMetrics;
  /** Present only when the type defines onRequest. */
  http: { active: GaugeLike; requests: Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx", CounterLike> } | undefined;
  /** Present only when the type defines onWebSocket. */
  websocketsActive: GaugeLike | undefined;
  /** Per declared queue. */
  queues: ReadonlyMap<string, { depth: GaugeLike; sent: CounterLike; processed: { ok: CounterLike; error: CounterLike; dead: CounterLike }; wait: HistogramLike }>;
}

export interface KvOpMetrics {
  count: CounterLike;
  duration: HistogramLike;
}
export interface SqlKindMetrics {
  ok: CounterLike;
  error: CounterLike;
  duration: HistogramLike;
}
export interface AlarmMetrics {
  pending: GaugeLike;
  lateness: HistogramLike;
  fired: { ok: CounterLike; error: CounterLike };
}
