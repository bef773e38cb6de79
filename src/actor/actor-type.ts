import type { CommitObserver } from "../storage/group-commit.js";
import { DEFAULT_OPTIONS, type ActorConfig, type ActorOptions, type AnyActionFn, type AnyActorDefinition } from "./definition.js";
import { IdleClock } from "./idle-clock.js";
import type { ActionMetrics, ActorTypeMetrics } from "./metrics-port.js";
import type { QueueSpec } from "./queue.js";


/** A registered actor type: its config plus what the runtime derives from it once. */
export interface ActorType {
  readonly name: string;
  readonly config: ActorConfig<any, any, any, any, any, Record<string, AnyActionFn>>;
  readonly options: Required<ActorOptions>;
  readonly actions: ReadonlyMap<string, AnyActionFn>;
  /** Per declared action, made once: what its tasks carry, so calls share one name string and one metrics holder. */
  readonly actionSpecs: ReadonlyMap<string, ActionSpec>;
  readonly queues: ReadonlyMap<string, QueueSpec>;
  /** Some queue has a handler: stored messages need the actor awake to be handled. */
  readonly hasQueueHandlers: boolean;
  /** Calls from outside a connection pass admission (onBeforeConnect, connection state): src/actor/admission.ts. */
  readonly admits: boolean;
  readonly metrics: ActorTypeMetrics | undefined;
  readonly commitObserver: CommitObserver | undefined;
  /** Times its instances' idle sleeps: one timer per bucket of deadlines, not one per actor. */
  readonly idleClock: IdleClock;
}

export interface ActionSpec {
  readonly fn: AnyActionFn;
  /** The declared name: a call log keeps this string, not each caller's copy. */
  readonly label: string;
  readonly alarmLabel: string;
  readonly metrics: ActionMetrics | undefined;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Queue names may also hold dots (`cmd.0`), as RivetKit's do; they are declared, so bounded. */
const QUEUE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export function createActorType(name: string, def: AnyActorDefinition, metrics: ActorTypeMetrics | undefined): ActorType {
  if (!NAME_RE.test(name)) {
    throw new TypeError(`setup(): actor name "${name}" must start with a letter and use only letters, digits, "_" or "-" (max 64)`);
  }
  const actions = new Map(Object.entries(def.config.actions));
  const queues = new Map<string, QueueSpec>();
  for (const [q, spec] of Object.entries(def.config.queues ?? {})) {
    if (!QUEUE_NAME_RE.test(q)) throw new TypeError(`actor "${name}": queue name "${q}" must start with a letter and use only letters, digits, "_", "-" or "." (max 64)`);
    const o = typeof spec === "function" ? { handler: spec } : spec;
    const maxAttempts = o.maxAttempts ?? 5;
    const backoffMs = o.backoffMs ?? 100;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError(`actor "${name}": queue "${q}" maxAttempts must be a positive integer`);
    if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new TypeError(`actor "${name}": queue "${q}" backoffMs must be a non-negative number`);
    queues.set(q, { handler: o.handler, maxAttempts, backoffMs });
  }
  const options = { ...DEFAULT_OPTIONS, ...envDefaults(), ...def.config.options };
  return {
    name,
    config: def.config,
    options,
    actions,
    actionSpecs: new Map([...actions].map(([a, fn]) => [a, { fn, label: a, alarmLabel: `alarm:${a}`, metrics: metrics?.actions.get(a) }])),
    queues,
    hasQueueHandlers: [...queues.values()].some((q) => q.handler !== undefined),
    admits: ["onBeforeConnect", "createConnState", "connState", "onConnect", "onDisconnect"].some((k) => def.config[k as keyof typeof def.config] !== undefined),
    metrics,
    idleClock: new IdleClock(options.sleepTimeoutMs),
    commitObserver: metrics && {
      committed(bytes, seconds) {
        metrics.stateCommits.inc();
        metrics.stateCommitDuration.observe(seconds);
        metrics.stateBytes.observe(bytes);
      },
    },
  };
}

/** `TROUPE_SLEEP_TIMEOUT_MS` sets the default idle time for actor types that do not set their own. */
function envDefaults(): Partial<ActorOptions> {
  const raw = process.env.TROUPE_SLEEP_TIMEOUT_MS;
  if (raw === undefined || raw === "") return {};
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) throw new TypeError(`TROUPE_SLEEP_TIMEOUT_MS must be a positive number of milliseconds (got "${raw}")`);
  return { sleepTimeoutMs: ms };
}
