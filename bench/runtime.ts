import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WebSocket } from "ws";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";
import { median, percentile } from "./stats.js";

type CounterApi = { counter: { increment(by?: number): Promise<number>; get(): Promise<number> } };

/**
 * Sequential calls before and in the measured run. Measured in windows of 500 on a fresh server,
 * the p50 falls over the first few thousand calls (0.60-0.66 ms in the first 500, 0.30-0.32 ms
 * from about the 4,000th on): V8 compiling the path, and the WAL's first round of growth.
 */
const SEQ_WARMUP = 3000;
const SEQ_CALLS = 3000;

export interface RuntimeFigures {
  /** The first 500 sequential calls on the fresh server, p50. */
  seqConnColdP50Ms: number;
  /** Sequential action over a WebSocket connection, durable commit each time, after SEQ_WARMUP calls. */
  seqConnP50Ms: number;
  seqConnP99Ms: number;
  /** 1,000 concurrent actions on one connection: wall time (median of rounds) and rate. */
  concurrent1000Ms: number;
  concurrentPerSec: number;
  /** Stateless HTTP action, steady state (actor id cached by the client). */
  httpP50Ms: number;
  httpP99Ms: number;
  /** 1,000 new actors created (getOrCreate + first call), 50 in flight at a time. */
  create1000Ms: number;
  /** 100 connections to 100 actors, 200 pipelined calls on each at once: durable actions per second. */
  fanPerSec: number;
  /** The disk's own floor under a durable reply: a 4 KB write and fdatasync, p50, in the server's temp dir. */
  diskSyncP50Ms: number;
  /** The same sequential calls against a bare ws server committing one row per message (commit-floor-server.ts), p50. */
  floorSeqP50Ms: number;
}

export interface RuntimeBenchOptions {
  durability?: "full" | "process";
  rounds?: number;
}

/** Starts the bench server in a child process, measures from this one, stops it. */
export async function runRuntimeBench(opts: RuntimeBenchOptions = {}): Promise<RuntimeFigures> {
  const floorSeqP50Ms = await commitFloorP50Ms();
  const server = await startChild("bench/fixtures/bench-server.ts", { BENCH_DURABILITY: opts.durability ?? "full" }, 30_000);
  try {
    return { ...(await measure(server.url, opts.rounds ?? 5)), floorSeqP50Ms };
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

/**
 * Sequential calls, as many as Troupe's figure takes, to a bare ws server that commits one row
 * per message with the same durability: the socket hops and the fsync with nothing else.
 */
export async function commitFloorP50Ms(warmup = SEQ_WARMUP, n = SEQ_CALLS): Promise<number> {
  const server = await startChild("bench/fixtures/commit-floor-server.ts", {}, 30_000);
  const ws = new WebSocket(server.url);
  try {
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const times: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const t = performance.now();
      ws.send(JSON.stringify({ id: i, by: 1 }));
      await new Promise((resolve) => ws.once("message", resolve));
      if (i >= warmup) times.push(performance.now() - t);
    }
    return percentile(times, 50);
  } finally {
    ws.close();
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

/** Times 4 KB writes, each followed by fdatasync, in the OS temp dir (where the bench server keeps its data). */
export function diskSyncP50Ms(n = 500): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-fsync-"));
  const fd = fs.openSync(path.join(dir, "probe"), "w");
  const buf = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
      fs.fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return percentile(times, 50);
}

async function measure(url: string, rounds: number): Promise<Omit<RuntimeFigures, "floorSeqP50Ms">> {
  const client = createClient<CounterApi>(url) as any;
  const diskSync = diskSyncP50Ms();

  // Sequential over a connection: the first calls on the fresh server apart (cold), then the
  // steady state once V8 has compiled the path (the p50 falls for the first few thousand calls).
  const conn = client.counter.getOrCreate(["seq"]).connect();
  const cold: number[] = [];
  for (let i = 0; i < SEQ_WARMUP; i++) {
    const t = performance.now();
    await conn.increment(1);
    if (i < 500) cold.push(performance.now() - t);
  }
  const seq: number[] = [];
  for (let i = 0; i < SEQ_CALLS; i++) {
    const t = performance.now();
    await conn.increment(1);
    seq.push(performance.now() - t);
  }

  // 1,000 concurrent on one connection.
  const bursts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await Promise.all(Array.from({ length: 1000 }, () => conn.increment(1)));
    bursts.push(performance.now() - t);
  }
  await conn.dispose();

  // Stateless HTTP.
  const handle = client.counter.getOrCreate(["http"]);
  for (let i = 0; i < 200; i++) await handle.increment(1);
  const httpLat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    await handle.increment(1);
    httpLat.push(performance.now() - t);
  }

  // 100 connections to 100 actors, each with 200 calls in flight at once (issue 14: >= 50,000/s).
  const fanConns = Array.from({ length: 100 }, (_, i) => client.counter.getOrCreate([`fan-${i}`]).connect());
  await Promise.all(fanConns.map((c: any) => c.increment(1)));
  const fans: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await Promise.all(fanConns.flatMap((c: any) => Array.from({ length: 200 }, () => c.increment(1))));
    fans.push(performance.now() - t);
  }
  await Promise.all(fanConns.map((c: any) => c.dispose()));

  // 1,000 new actors, 50 at a time.
  const creates: number[] = [];
  for (let r = 0; r < Math.min(rounds, 3); r++) {
    const fresh = createClient<CounterApi>(url) as any;
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          const i = next++;
          await fresh.counter.getOrCreate([`new-${r}-${i}`]).increment(1);
        }
      }),
    );
    creates.push(performance.now() - t);
  }

  const burst = median(bursts);
  return {
    diskSyncP50Ms: diskSync,
    seqConnColdP50Ms: percentile(cold, 50),
    seqConnP50Ms: percentile(seq, 50),
    seqConnP99Ms: percentile(seq, 99),
    concurrent1000Ms: burst,
    concurrentPerSec: 1000 / (burst / 1000),
    httpP50Ms: percentile(httpLat, 50),
    httpP99Ms: percentile(httpLat, 99),
    create1000Ms: median(creates),
    fanPerSec: 20_000 / (median(fans) / 1000),
  };
}
