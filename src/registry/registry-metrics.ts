import type { Logger } from "pino";
import type { ActorTypeMetrics } from "../actor/metrics-port.js";
import {
  contentTypeFor,
  declareActorMetrics,
  MetricsRegistry,
  negotiateFormat,
  registerBuildInfo,
  registerNodeRuntimeMetrics,
  type MetricsFormat,
  type PromClientRegistryLike,
  type RawCapabilities,
} from "../metrics/index.js";
import { resolveMetricsAuth, type MetricsAuthConfig, type TokenAuth } from "../routes/index.js";

export interface MetricsConfig extends MetricsAuthConfig {
  /** false: no instrumentation at all and /metrics answers 403. Default true. */
  enabled?: boolean;
  /** Series limit per family before folding into `__overflow__`. Default 2,000. */
  maxSeriesPerFamily?: number;
  /** A prom-client Registry whose metrics are appended to /metrics. */
  promClient?: PromClientRegistryLike;
}

/** What the registry exposes as `registry.metrics`. */
export interface RegistryMetrics {
  /** The engine: add your own families with `.counter()`, `.gauge()`, `.histogram()`. */
  readonly registry: MetricsRegistry;
  readonly enabled: boolean;
  /** Trusted, in-process rendering: no token involved. */
  render(format?: MetricsFormat): Promise<string>;
  /** @internal */
  forActorType(name: string, actions: readonly string[], queues?: readonly string[], raw?: RawCapabilities): ActorTypeMetrics | undefined;
  /** @internal */
  readonly auth: TokenAuth;
  /** @internal */
  readonly ready: Promise<void>;
  /** Stops runtime observers (the GC observer) so the process can exit. */
  stop(): void;
  readonly negotiateFormat: typeof negotiateFormat;
  readonly contentTypeFor: typeof contentTypeFor;
}

export function createRegistryMetrics(config: MetricsConfig | undefined, o: { version: string; mode: string; logger: Logger }): RegistryMetrics {
  const enabled = config?.enabled !== false;
  const registry = new MetricsRegistry({ maxSeriesPerFamily: config?.maxSeriesPerFamily, logger: o.logger });
  const auth: TokenAuth = enabled ? resolveMetricsAuth(config, process.env, o.logger) : { mode: "disabled", hint: "metrics not enabled: this registry was set up with metrics: { enabled: false }\n" };
  let stop = (): void => {};
  let actors: ReturnType<typeof declareActorMetrics> | undefined;
  if (enabled) {
    registerBuildInfo(registry, { version: o.version, mode: o.mode });
    stop = registerNodeRuntimeMetrics(registry);
    actors = declareActorMetrics(registry);
  }
  const ready = config?.promClient ? registry.mergePromClient(config.promClient) : Promise.resolve();
  ready.catch(() => {});
  return {
    registry,
    enabled,
    auth,
    ready,
    render: async (format = "prometheus") => {
      await ready;
      return registry.render(format);
    },
    forActorType: (name, actions, queues, raw) => actors?.forActorType(name, actions, queues, raw),
    stop: () => stop(),
    negotiateFormat,
    contentTypeFor,
  };
}
