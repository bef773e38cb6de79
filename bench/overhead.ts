import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";

export interface OverheadRun {
  actionsPerSec: number;
  /** Server CPU (user + system, all threads) per 1,000 actions: less moved than wall time by other load on the machine. */
  cpuMsPer1000: number;
}

const BURSTS = 60;

/** One server process: 60 bursts of 1,000 concurrent actions on one connection. */
export async function overheadRun(metrics: "on" | "off", nodeArgs: readonly string[] = []): Promise<OverheadRun> {
  const server = await startChild("bench/fixtures/bench-server.ts", { BENCH_METRICS: metrics }, 30_000, nodeArgs);
  try {
    const conn = (createClient(server.url) as any).counter.getOrCreate(["overhead"]).connect();
    for (let i = 0; i < 2000; i++) await conn.increment(1);
    const cpu0 = cpuMs(server.child.pid!);
    const t = performance.now();
    for (let b = 0; b < BURSTS; b++) await Promise.all(Array.from({ length: 1000 }, () => conn.increment(1)));
    const wallMs = performance.now() - t;
    const result = { actionsPerSec: (BURSTS * 1000) / (wallMs / 1000), cpuMsPer1000: (cpuMs(server.child.pid!) - cpu0) / BURSTS };
    await conn.dispose();
    return result;
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

/**
 * The percentage of the server's CPU during the bursts spent in src/metrics, from a V8 CPU
 * profile of a metrics-on run, sampled every 100 µs: where the cost is, not just how far the
 * total moved. Two small biases pull opposite ways: the numerator also holds the warm-up's
 * metrics time (high), and the denominator the profiler's own cost (low).
 */
export async function metricsCpuShare(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-prof-"));
  try {
    const run = await overheadRun("on", ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${dir}`]);
    // One profile per thread (tsx's loader runs in a mostly idle worker); metrics run on the main thread only.
    const profiles = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as CpuProfile);
    const ms = profiles.reduce((sum, p) => sum + metricsMs(p), 0);
    return (ms / (run.cpuMsPer1000 * BURSTS)) * 100;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of samples in src/metrics, in ms (profile time deltas are in µs). */
function metricsMs(p: CpuProfile): number {
  const inMetrics = new Set(p.nodes.filter((n) => n.callFrame.url.includes("/src/metrics/")).map((n) => n.id));
  let us = 0;
  p.samples.forEach((id, i) => {
    if (inMetrics.has(id)) us += p.timeDeltas[i] ?? 0;
  });
  return us / 1000;
}

/** utime + stime of a live process, from /proc (clock ticks of 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
