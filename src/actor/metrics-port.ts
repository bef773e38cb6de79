/**
 * The handles the runtime updates, prebound per actor type by src/metrics. The runtime
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
  startDuration: { create: HistogramLike; wake: HistogramLike };
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
  kv: ReadonlyMap<"get" | "put" | "delete" | "list" | "get_batch" | "put_batch" | "delete_batch", { count: CounterLike; duration: HistogramLike }>;
  alarmsPending: GaugeLike;
  alarmLateness: HistogramLike;
  httpActive: GaugeLike;
  httpRequests: Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx", CounterLike>;
  websocketsActive: GaugeLike;
  /** Per declared queue. */
  queues: ReadonlyMap<string, { depth: GaugeLike; sent: CounterLike; processed: { ok: CounterLike; error: CounterLike; dead: CounterLike }; wait: HistogramLike }>;
  sql: {
    statements: Record<"select" | "insert" | "update" | "delete" | "ddl" | "other", { ok: CounterLike; error: CounterLike }>;
    duration: Record<"select" | "insert" | "update" | "delete" | "ddl" | "other", HistogramLike>;
  };
  alarmsFired: { ok: CounterLike; error: CounterLike };
}
