import type { Logger } from "pino";
import { errors, TroupeError } from "../common/errors.js";
import type { StoredAlarm } from "../storage/types.js";
import type { ActorType } from "./actor-type.js";
import { statelessConn } from "./admission.js";
import type { Conn } from "./conn.js";
import type { ContextHost } from "./context.js";
import { cbor } from "./state-codec.js";
import type { Task } from "./task.js";

/** How a call reaches an action: over an admitted connection, or with the caller's params. */
export interface CallVia {
  conn?: Conn | undefined;
  /** Connection params of a caller without a connection; they reach onBeforeConnect. */
  params?: unknown;
  /** Actors whose turns wait on this call through `c.client()`, outermost first. */
  chain?: readonly string[] | undefined;
}

/** What building a call's task reads from the instance. */
export interface CallHost extends ContextHost {
  readonly type: ActorType;
  readonly log: Logger;
}

/** An alarm whose action is gone: still an action call for the call log, with no metrics of its own. */
const NO_ACTION_METRICS = { metrics: undefined };

/** Alarm failures that mean "try again later" rather than "the action threw". */
const ALARM_RETRY_CODES = new Set(["storage/state_commit_failed", "actor/actor_restarted", "actor/action_timed_out", "server/server_stopping", "actor/stopping"]);

/**
 * An action call as a task (the caller checked the action exists). A call over an admitted connection carries it; any other call
 * from outside passes admission (src/actor/admission.ts) with its params, in the same turn,
 * and sees the resulting connection as `c.conn` for that call only.
 */
export function actionTask(host: CallHost, action: string, args: unknown[], via: CallVia, resolve: (v: unknown) => void, reject: (e: unknown) => void): Task {
  const { type } = host;
  const spec = type.actionSpecs.get(action);
  if (!spec) throw errors.actionNotFound(type.name, action);
  const { fn } = spec;
  const { conn, chain } = via;
  const admitting = conn === undefined && type.admits;
  const { onConnect, onDisconnect } = type.config;
  return {
    label: spec.label,
    run: admitting
      ? async (_target, ctx) => {
          // A stateless call is a connection for the length of the call, as in RivetKit: its hooks
          // run in the call's turn, so they commit or roll back with it.
          // `ctx` is the instance the task runs on: after a crash that is a fresh one, not `host`.
          const c = await statelessConn(type, ctx, via.params);
          // Listed in c.conns for the call, as RivetKit lists it; never in the connection gauges.
          const release = ctx.holdConn(c);
          try {
            await onConnect?.(ctx, c);
            try {
              return await fn(ctx.withConn(c, chain ?? []), ...args);
            } finally {
              await onDisconnect?.(ctx, c);
            }
          } finally {
            release();
          }
        }
      : (_target, ctx) => fn(ctx, ...args),
    resolve,
    reject,
    action: spec,
    conn,
    chain,
    fromCaller: true,
  };
}

/**
 * An alarm as a task. Its deletion commits with the action's changes, or alone if the action
 * throws, so an alarm fires once. Resolves with the outcome; rejects when the turn could not
 * complete (timeout, commit failure, restart), so the scheduler retries later.
 */
export function alarmTask(host: CallHost, alarm: StoredAlarm, onStart: (() => void) | undefined, resolve: (v: "ok" | "error") => void, reject: (e: unknown) => void): Task {
  const { type } = host;
  const spec = type.actionSpecs.get(alarm.action);
  const fn = spec?.fn;
  return {
    label: spec?.alarmLabel ?? `alarm:${alarm.action}`,
    run: (target, ctx) => {
      // Cancelled while it waited for its turn: a cancel that said "true" means it never runs.
      // `target`, not the instance that queued it: after a crash the task runs on the fresh one.
      if (!target.alarmPending(alarm.id)) return undefined;
      onStart?.();
      if (!fn) throw errors.actionNotFound(type.name, alarm.action);
      return fn(ctx, ...(cbor.decode(alarm.args) as unknown[]));
    },
    resolve: () => resolve("ok"),
    reject: (err) => {
      if (err instanceof TroupeError && ALARM_RETRY_CODES.has(`${err.group}/${err.code}`)) reject(err);
      else {
        host.log.error({ err, action: alarm.action, alarmId: alarm.id }, "scheduled action failed");
        resolve("error");
      }
    },
    action: spec ?? NO_ACTION_METRICS,
    finalWrites: (target) => target.stageAlarm(alarm.id, null),
  };
}
