/** Parses Prometheus text exposition into samples, for exact-value assertions in tests. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    const v = m[4]!;
    samples.push({ name: m[1]!, labels, value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v) });
  }
  return samples;
}

/** The value of the one sample matching name and labels (a subset match); throws when not exactly one. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${hits.length}`);
  return hits[0]!.value;
}

/** Sum over samples matching name and labels. */
export function sumValues(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

function seriesName(s: Sample): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
  return labels ? `${s.name}{${labels}}` : s.name;
}

/**
 * Whether every series of each gauge family reads exactly 0. Each `required` family must have at
 * least one series (a missing family is a problem, not a pass); `optional` families are checked
 * only for the series they have. Per series, not summed, so +1 and −1 cannot cancel out.
 */
export function gaugesAtZero(samples: Sample[], required: readonly string[], optional: readonly string[] = []): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  for (const family of [...required, ...optional]) {
    const series = samples.filter((s) => s.name === family);
    if (series.length === 0 && required.includes(family)) problems.push(`${family}: missing (no series)`);
    for (const s of series) if (s.value !== 0) problems.push(`${seriesName(s)} = ${s.value}${s.value < 0 ? " (negative)" : ""}`);
  }
  return { ok: problems.length === 0, problems };
}

/** Every series of the given families that reads below zero (a gauge decremented twice). */
export function negativeSeries(samples: Sample[], families: readonly string[]): string[] {
  return samples.filter((s) => families.includes(s.name) && s.value < 0).map((s) => `${seriesName(s)} = ${s.value}`);
}
