/** Exposition-format primitives shared by the Prometheus text and OpenMetrics renderers. */

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** HELP text: text 0.0.4 escapes backslash and newline; OpenMetrics also escapes quotes. */
export function escapeHelp(v: string, openMetrics: boolean): string {
  const s = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return openMetrics ? s.replace(/"/g, '\\"') : s;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** `{a="x",b="y"}` for the given names and values, or "" when there are none. */
export function labelString(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i]!)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricDefinitionError";
  }
}

export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new MetricDefinitionError(`Invalid metric name "${name}": use [a-zA-Z_:][a-zA-Z0-9_:]*`);
}

export function checkLabelNames(metric: string, names: readonly string[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (!LABEL_NAME.test(n) || n.startsWith("__")) throw new MetricDefinitionError(`Metric "${metric}": invalid label name "${n}"`);
    if (reserved.includes(n)) throw new MetricDefinitionError(`Metric "${metric}": label name "${n}" is reserved`);
    if (seen.has(n)) throw new MetricDefinitionError(`Metric "${metric}": duplicate label name "${n}"`);
    seen.add(n);
  }
}
