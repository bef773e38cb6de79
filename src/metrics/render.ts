import type { Counter } from "./counter.js";
import { escapeHelp, formatValue, labelString } from "./format.js";
import type { Gauge } from "./gauge.js";
import type { Histogram, HistogramHandle } from "./histogram.js";

export type AnyFamily = Counter | Gauge | Histogram;
export type Format = "prometheus" | "openmetrics";

/** Appends one family in the given format. Sample lines are identical in both formats. */
export function renderFamily(f: AnyFamily, format: Format, out: string[]): void {
  const om = format === "openmetrics";
  // OpenMetrics names a counter family without its _total suffix.
  const familyName = om && f.type === "counter" ? f.name.slice(0, -"_total".length) : f.name;
  out.push(`# HELP ${familyName} ${escapeHelp(f.help, om)}\n# TYPE ${familyName} ${f.type}\n`);
  if (om && f.unit) out.push(`# UNIT ${familyName} ${f.unit}\n`);
  if (f.type === "histogram") {
    renderHistogram(f, out);
    return;
  }
  for (const s of f.series.values()) {
    const prefix = (s.prefixes ??= [`${f.name}${labelString(f.labelNames, s.values)} `])[0]!;
    out.push(prefix + formatValue(s.handle.value) + "\n");
  }
}

function renderHistogram(f: Histogram, out: string[]): void {
  const bounds = f.bounds;
  for (const s of f.series.values()) {
    const p = (s.prefixes ??= buildHistogramPrefixes(f, s.values));
    const h: HistogramHandle = s.handle;
    let cumulative = 0;
    let line = "";
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += h.counts[i]!;
      line += p[i]! + formatValue(cumulative) + "\n";
    }
    line += p[bounds.length + 1]! + formatValue(h.sum) + "\n";
    line += p[bounds.length + 2]! + formatValue(h.count) + "\n";
    out.push(line);
  }
}

function buildHistogramPrefixes(f: Histogram, values: readonly string[]): string[] {
  const prefixes: string[] = [];
  for (const b of f.bounds) prefixes.push(`${f.name}_bucket${labelString(f.labelNames, values, ["le", formatValue(b)])} `);
  prefixes.push(`${f.name}_bucket${labelString(f.labelNames, values, ["le", "+Inf"])} `);
  const plain = labelString(f.labelNames, values);
  prefixes.push(`${f.name}_sum${plain} `, `${f.name}_count${plain} `);
  return prefixes;
}
