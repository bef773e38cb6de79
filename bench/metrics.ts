import { Counter as PromCounter, Histogram as PromHistogram, Registry as PromRegistry } from "prom-client";
import { MetricsRegistry } from "../src/metrics/index.js";
import { fmt, median, table } from "./stats.js";

// Troupe's metrics engine beside prom-client 15, in the same process and run.
const N = 5_000_000;
const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function nsPerOp(fn: (n: number) => void, n = N): number {
  fn(10_000);
  const t = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t) / n;
}

export interface MetricsFigures {
  counterNs: number;
  promCounterNs: number;
  histogramNs: number;
  promHistogramNs: number;
  render10kMs: number;
  promRender10kMs: number;
  render10kBytes: number;
}

export async function runMetricsBench(rounds = 5): Promise<MetricsFigures> {
  const ours = new MetricsRegistry({ maxSeriesPerFamily: 20_000 });
  const prom = new PromRegistry();
  const c = ours.counter({ name: "bench_calls_total", help: "x", labelNames: ["actor_name", "action"] }).labels("counter", "increment");
  const pc = new PromCounter({ name: "bench_calls_total", help: "x", labelNames: ["actor_name", "action"], registers: [prom] }).labels("counter", "increment");
  const h = ours.histogram({ name: "bench_duration_seconds", help: "x", labelNames: ["actor_name"], buckets: BUCKETS }).labels("counter");
  const ph = new PromHistogram({ name: "bench_duration_seconds", help: "x", labelNames: ["actor_name"], buckets: BUCKETS, registers: [prom] }).labels("counter");

  // 10,000 series each, for rendering.
  const oursR = new MetricsRegistry({ maxSeriesPerFamily: 20_000 });
  const promR = new PromRegistry();
  const rc = oursR.counter({ name: "render_calls_total", help: "x", labelNames: ["actor_name", "action"] });
  const prc = new PromCounter({ name: "render_calls_total", help: "x", labelNames: ["actor_name", "action"], registers: [promR] });
  for (let i = 0; i < 10_000; i++) {
    rc.labels(`type${i % 100}`, `action${i}`).inc(i);
    prc.labels(`type${i % 100}`, `action${i}`).inc(i);
  }

  const values = Float64Array.from({ length: 1024 }, (_, i) => (i % 97) / 1000);
  const r: Record<keyof MetricsFigures, number[]> = { counterNs: [], promCounterNs: [], histogramNs: [], promHistogramNs: [], render10kMs: [], promRender10kMs: [], render10kBytes: [] };
  for (let round = 0; round < rounds; round++) {
    r.counterNs.push(nsPerOp((n) => { for (let i = 0; i < n; i++) c.inc(); }));
    r.promCounterNs.push(nsPerOp((n) => { for (let i = 0; i < n; i++) pc.inc(); }, N / 10));
    r.histogramNs.push(nsPerOp((n) => { for (let i = 0; i < n; i++) h.observe(values[i & 1023]!); }));
    r.promHistogramNs.push(nsPerOp((n) => { for (let i = 0; i < n; i++) ph.observe(values[i & 1023]!); }, N / 10));
    let t = performance.now();
    const text = await oursR.render();
    r.render10kMs.push(performance.now() - t);
    r.render10kBytes.push(Buffer.byteLength(text));
    t = performance.now();
    await promR.metrics();
    r.promRender10kMs.push(performance.now() - t);
  }
  // Keep the counters observable so the loops cannot be optimised away.
  if (c.value < 0 || h.count < 0) console.log("impossible");
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) as unknown as MetricsFigures;
}

export async function run(): Promise<MetricsFigures> {
  const m = await runMetricsBench();
  console.log("Metrics engine vs prom-client 15 (same process, medians of 5 rounds)");
  console.log(
    table(
      ["figure", "troupe", "prom-client", "ratio", "target"],
      [
        ["counter inc on a bound handle", `${fmt(m.counterNs)} ns`, `${fmt(m.promCounterNs)} ns`, `${fmt(m.promCounterNs / m.counterNs, 1)}x`, "<= 10 ns, >= 10x"],
        ["histogram observe (17 buckets)", `${fmt(m.histogramNs)} ns`, `${fmt(m.promHistogramNs)} ns`, `${fmt(m.promHistogramNs / m.histogramNs, 1)}x`, "<= 40 ns, >= 8x"],
        ["render 10,000 series", `${fmt(m.render10kMs)} ms`, `${fmt(m.promRender10kMs)} ms`, `${fmt(m.promRender10kMs / m.render10kMs, 1)}x`, ">= 5x"],
      ],
    ),
  );
  console.log();
  return m;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
