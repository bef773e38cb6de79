import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";

export interface OverheadRun {
  actionsPerSec: number;
  /** Server CPU (user + system) per 1,000 actions: unlike wall time, barely moved by other load on the machine. */
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
 * The share of the server's CPU spent in src/metrics during a metrics-on run, from a V8 CPU
 * profile of the server process: where the cost is, not just how large the total moved.
 */
export async function metricsCpuShare(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-prof-"));
  try {
    await overheadRun("on", ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    // One profile per thread; the main thread's holds the server's samples.
    const profiles = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as CpuProfile);
    return share(profiles.reduce((a, b) => (b.samples.length > a.samples.length ? b : a)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { url: string; functionName: string } }>;
  samples: number[];
  timeDeltas: number[];
}

function share(p: CpuProfile): number {
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  let busy = 0;
  let metrics = 0;
  p.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    if (frame.functionName === "(idle)") return;
    busy += p.timeDeltas[i] ?? 0;
    if (frame.url.includes("/src/metrics/")) metrics += p.timeDeltas[i] ?? 0;
  });
  return (metrics / busy) * 100;
}

/** utime + stime of a live process, from /proc (clock ticks of 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
