import type { KvOp } from "../actor/metrics-port.js";
import type { ActionMetrics, ActorTypeMetrics, StopReason } from "../actor/metrics-port.js";
import type { SqlKind } from "../actor/metrics-port.js";
import type { CounterHandle } from "./counter.js";
import { BYTE_BUCKETS, DELAY_BUCKETS, LATENCY_BUCKETS, STORAGE_BUCKETS } from "./histogram.js";
import type { MetricsRegistry } from "./registry.js";

export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export const STOP_REASONS = ["sleep", "destroy", "shutdown", "crash"] as const satisfies readonly StopReason[];
export const ACTION_OUTCOMES = ["ok", "user_error", "error", "timeout"] as const;
/** Why an admitted connection closed; an unexpected reason is counted as `error`. */
export const CLOSE_REASONS = ["client_closed", "server_closed", "error", "actor_stopped", "shutdown"] as const;

/** Which raw handlers an actor type defines: their series exist only for types that have them. */
export interface RawCapabilities {
  onRequest?: boolean;
  onWebSocket?: boolean;
}

/**
 * Declares the core runtime families once per registry. `forActorType` binds one actor
 * type's core series (lifecycle, actions, connections, state, declared queues) up front, so
 * rate() and alerts see zeros from the start. Capability series (KV per op, SQL per kind,
 * alarms) are bound on the type's first use: they come from fixed sets, so the count still
 * depends on the types and what they use, never on how many actors are live, and a type
 * that never touches SQL does not pay ~8 KB of idle histograms per scrape.
 */
export function declareActorMetrics(registry: MetricsRegistry) {
  const latency = (name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = LATENCY_BUCKETS) =>
    registry.histogram({ name, help, labelNames, unit: "seconds", buckets });
  const f = {
    active: registry.gauge({ name: "troupe_actors_active", help: "Actors currently loaded in memory (awake).", labelNames: ["actor_name"] }),
    starts: registry.counter({ name: "troupe_actor_starts_total", help: "Actor starts: kind=create for a new actor, kind=wake for loading a stored one.", labelNames: ["actor_name", "kind"] }),
    stops: registry.counter({ name: "troupe_actor_stops_total", help: "Actor unloads by reason: sleep, destroy, shutdown or crash.", labelNames: ["actor_name", "reason"] }),
    // One histogram for both start kinds (starts_total has the mix): a per-kind split cost
    // 1.3 KB per type on every scrape for a distinction state_bytes mostly explains.
    startDuration: latency("troupe_actor_start_duration_seconds", "Time from an actor's first call to it taking calls, created or woken, including onCreate/onWake.", ["actor_name"]),
    calls: registry.counter({
      name: "troupe_actor_action_calls_total",
      help: "Action calls by declared action name and outcome (ok, user_error, error, timeout).",
      labelNames: ["actor_name", "action", "outcome"],
    }),
    callDuration: latency("troupe_actor_action_duration_seconds", "Time an action ran, from the start of its turn to its return (not counting the inbox wait or the commit).", ["actor_name", "action"]),
    inbox: registry.gauge({ name: "troupe_actor_inbox_depth", help: "Calls waiting in actors' inboxes for their turn.", labelNames: ["actor_name"] }),
    connsActive: registry.gauge({ name: "troupe_actor_connections_active", help: "Open client connections.", labelNames: ["actor_name"] }),
    connsOpened: registry.counter({ name: "troupe_actor_connections_opened_total", help: "Client connections admitted.", labelNames: ["actor_name"] }),
    connsClosed: registry.counter({ name: "troupe_actor_connections_closed_total", help: "Client connections closed, by reason.", labelNames: ["actor_name", "reason"] }),
    commits: registry.counter({ name: "troupe_actor_state_commits_total", help: "Durable commits of actor state.", labelNames: ["actor_name"] }),
    commitFailures: registry.counter({
      name: "troupe_actor_state_commit_failures_total",
      help: "Commits of an actor's turn that the store refused; the actor restarted from its last committed state.",
      labelNames: ["actor_name"],
    }),
    commitDuration: latency("troupe_actor_state_commit_duration_seconds", "Time from queueing a state commit to it being durable (includes group-commit batching).", ["actor_name"]),
    stateBytes: registry.histogram({
      name: "troupe_actor_state_bytes",
      help: "Encoded size of actor state per commit.",
      labelNames: ["actor_name"],
      unit: "bytes",
      buckets: BYTE_BUCKETS,
    }),
    kvOps: registry.counter({ name: "troupe_actor_kv_operations_total", help: "Key-value operations by op (get, put, delete, list, get_batch, put_batch, delete_batch).", labelNames: ["actor_name", "op"] }),
    kvDuration: latency("troupe_actor_kv_operation_duration_seconds", "Time a key-value operation took inside the actor (reads hit the store; writes are staged for the turn's commit).", ["actor_name", "op"], STORAGE_BUCKETS),
    sqlStatements: registry.counter({
      name: "troupe_actor_sql_statements_total",
      help: "SQL statements run through c.db, by kind (select, insert, update, delete, ddl, other) and outcome (ok, error).",
      labelNames: ["actor_name", "kind", "outcome"],
    }),
    sqlDuration: latency("troupe_actor_sql_statement_duration_seconds", "Time a c.db statement took, by kind.", ["actor_name", "kind"], STORAGE_BUCKETS),
    queueDepth: registry.gauge({ name: "troupe_actor_queue_depth", help: "Queue messages stored and not yet handled or taken (dead letters excluded).", labelNames: ["actor_name", "queue"] }),
    queueSent: registry.counter({ name: "troupe_actor_queue_messages_sent_total", help: "Queue messages durably accepted.", labelNames: ["actor_name", "queue"] }),
    queueProcessed: registry.counter({
      name: "troupe_actor_queue_messages_processed_total",
      help: "Queue message deliveries by outcome: ok (handled or taken), error (failed, will retry), dead (failed its last attempt).",
      labelNames: ["actor_name", "queue", "outcome"],
    }),
    queueWait: latency("troupe_actor_queue_message_wait_seconds", "Time from a message being sent to its first delivery attempt.", ["actor_name", "queue"], DELAY_BUCKETS),
    httpActive: registry.gauge({ name: "troupe_actor_http_requests_active", help: "Raw HTTP requests (onRequest) in progress.", labelNames: ["actor_name"] }),
    httpRequests: registry.counter({ name: "troupe_actor_http_requests_total", help: "Raw HTTP requests (onRequest) answered, by status class.", labelNames: ["actor_name", "status_class"] }),
    websocketsActive: registry.gauge({ name: "troupe_actor_websockets_active", help: "Raw WebSockets (onWebSocket) open.", labelNames: ["actor_name"] }),
    alarmLateness: latency("troupe_actor_schedule_alarm_lateness_seconds", "How late an alarm's action started, after its scheduled time (alarms missed while the process was down count their full delay).", ["actor_name"], DELAY_BUCKETS),
    alarmsPending: registry.gauge({ name: "troupe_actor_schedule_alarms_pending", help: "Durable alarms scheduled and not yet fired or cancelled.", labelNames: ["actor_name"] }),
    alarmsFired: registry.counter({ name: "troupe_actor_schedule_alarms_fired_total", help: "Alarms fired, by outcome of the scheduled action (ok or error).", labelNames: ["actor_name", "outcome"] }),
  };

  return {
    forActorType(actorName: string, actionNames: readonly string[], queueNames: readonly string[] = [], capabilities: RawCapabilities = {}): ActorTypeMetrics {
      const actions = new Map<string, ActionMetrics>();
      for (const action of actionNames) {
        actions.set(action, {
          ok: f.calls.labels(actorName, action, "ok"),
          user_error: f.calls.labels(actorName, action, "user_error"),
          error: f.calls.labels(actorName, action, "error"),
          timeout: f.calls.labels(actorName, action, "timeout"),
          duration: f.callDuration.labels(actorName, action),
        });
      }
      const closed = new Map<string, CounterHandle>(CLOSE_REASONS.map((r) => [r, f.connsClosed.labels(actorName, r)]));
      const fallback = closed.get("error")!;
      return {
        actorsActive: f.active.labels(actorName),
        starts: { create: f.starts.labels(actorName, "create"), wake: f.starts.labels(actorName, "wake") },
        startDuration: f.startDuration.labels(actorName),
        stops: byKey(STOP_REASONS, (r) => f.stops.labels(actorName, r)),
        actions,
        inboxDepth: f.inbox.labels(actorName),
        connectionsActive: f.connsActive.labels(actorName),
        connectionsOpened: f.connsOpened.labels(actorName),
        connectionsClosed: (reason: string) => closed.get(reason) ?? fallback,
        stateCommits: f.commits.labels(actorName),
        stateCommitFailures: f.commitFailures.labels(actorName),
        stateCommitDuration: f.commitDuration.labels(actorName),
        stateBytes: f.stateBytes.labels(actorName),
        kv: lazily((op: KvOp) => ({ count: f.kvOps.labels(actorName, op), duration: f.kvDuration.labels(actorName, op) })),
        sql: lazily((kind: SqlKind) => ({
          ok: f.sqlStatements.labels(actorName, kind, "ok"),
          error: f.sqlStatements.labels(actorName, kind, "error"),
          duration: f.sqlDuration.labels(actorName, kind),
        })),
        alarms: once(() => ({
          pending: f.alarmsPending.labels(actorName),
          lateness: f.alarmLateness.labels(actorName),
          fired: { ok: f.alarmsFired.labels(actorName, "ok"), error: f.alarmsFired.labels(actorName, "error") },
        })),
        http: capabilities.onRequest ? { active: f.httpActive.labels(actorName), requests: byKey(STATUS_CLASSES, (k) => f.httpRequests.labels(actorName, k)) } : undefined,
        websocketsActive: capabilities.onWebSocket ? f.websocketsActive.labels(actorName) : undefined,
        queues: new Map(
          queueNames.map((q) => [
            q,
            {
              depth: f.queueDepth.labels(actorName, q),
              sent: f.queueSent.labels(actorName, q),
              processed: { ok: f.queueProcessed.labels(actorName, q, "ok"), error: f.queueProcessed.labels(actorName, q, "error"), dead: f.queueProcessed.labels(actorName, q, "dead") },
              wait: f.queueWait.labels(actorName, q),
            },
          ]),
        ),
      };
    },
  };
}

/** Binds a capability's series on first use and returns the same handles after that. */
function lazily<K, V>(bind: (key: K) => V): (key: K) => V {
  const bound = new Map<K, V>();
  return (key) => {
    let v = bound.get(key);
    if (v === undefined) bound.set(key, (v = bind(key)));
    return v;
  };
}

function once<V>(bind: () => V): () => V {
  let v: V | undefined;
  return () => (v ??= bind());
}

function byKey<K extends string, V>(keys: readonly K[], make: (k: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, V>;
}
