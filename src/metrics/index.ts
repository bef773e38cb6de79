export { MetricsRegistry, type MetricsLogger, type MetricsRegistryOptions } from "./registry.js";
export { Counter, CounterHandle } from "./counter.js";
export { Gauge, GaugeHandle } from "./gauge.js";
export { Histogram, HistogramHandle, LATENCY_BUCKETS, STORAGE_BUCKETS, DELAY_BUCKETS, BYTE_BUCKETS, type HistogramOptions } from "./histogram.js";
export { OVERFLOW, type FamilyOptions } from "./family.js";
export { MetricDefinitionError } from "./format.js";
export { negotiateFormat, contentTypeFor, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE } from "./negotiate.js";
export type { Format as MetricsFormat } from "./render.js";
export { registerNodeRuntimeMetrics, registerBuildInfo } from "./node-runtime.js";
export { declareActorMetrics, STOP_REASONS, ACTION_OUTCOMES, CLOSE_REASONS, type RawCapabilities } from "./actor-metrics.js";
export type { PromClientRegistryLike } from "./prom-client-merge.js";

/** Maps a caller-supplied value to itself when allowed, else to "unknown" (never a raw label). */
export function boundedLabel(value: string, allowed: ReadonlySet<string>): string {
  return allowed.has(value) ? value : "unknown";
}
