import { escapeHelp, formatValue, labelString } from "./format.js";
import type { Format } from "./render.js";

/** The part of a prom-client `Registry` Troupe reads: its metrics as JSON. */
export interface PromClientRegistryLike {
  getMetricsAsJSON(): Promise<PromClientMetric[]> | PromClientMetric[];
}

export interface PromClientMetric {
  name: string;
  help: string;
  // prom-client types this as an enum; at run time it is the type name.
  type: unknown;
  values: Array<{ value: number; labels: Partial<Record<string, string | number>>; metricName?: string }>;
}

/**
 * Renders prom-client's metrics in Troupe's own writer, so both formats stay valid
 * (one `# EOF`, OpenMetrics counter naming) whatever the prom-client registry is set to.
 */
export function renderPromClientMetric(m: PromClientMetric, format: Format, out: string[]): void {
  const om = format === "openmetrics";
  const type = ["counter", "gauge", "histogram", "summary"].includes(String(m.type)) ? String(m.type) : "untyped";
  let family = m.name;
  let counterSample = m.name;
  if (type === "counter" && om) {
    family = m.name.endsWith("_total") ? m.name.slice(0, -6) : m.name;
    counterSample = `${family}_total`;
  }
  out.push(`# HELP ${family} ${escapeHelp(m.help, om)}\n# TYPE ${family} ${om && type === "untyped" ? "unknown" : type}\n`);
  for (const v of m.values) {
    const names = Object.keys(v.labels).filter((n) => v.labels[n] !== undefined);
    const values = names.map((n) => String(v.labels[n]));
    const sample = type === "counter" ? counterSample : (v.metricName ?? m.name);
    out.push(`${sample}${labelString(names, values)} ${formatValue(v.value)}\n`);
  }
}
