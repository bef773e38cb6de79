export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Runs `fn` n times in a row; returns its last result and the median time in ms. */
export async function timedMedian<T>(n: number, fn: () => Promise<T>): Promise<{ result: T; medianMs: number }> {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    result = await fn();
    times.push(performance.now() - t);
  }
  return { result, medianMs: median(times) };
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/** Prints rows as an aligned plain-text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
