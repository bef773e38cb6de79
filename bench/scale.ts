import fs from "node:fs";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { createClient } from "../src/client/index.js";
import { KV_OPS } from "../src/actor/kv.js";
import { SQL_KINDS } from "../src/actor/sql.js";
import { setup } from "../src/index.js";
import { declareActorMetrics, MetricsRegistry } from "../src/metrics/index.js";
import type { ActorManager } from "../src/registry/actor-manager.js";
import { startChild } from "../test/helpers/child-server.js";
import { tenTypes } from "./fixtures/ten-types.js";
import { timedMedian } from "./stats.js";

export interface ScaleFigures {
  cardinality: Array<{ actors: number; series: number; bytes: number; gzipBytes: number; renderMs: number }>;
  idle: { actors: number; cpuPercent: number; rssMb: number; seconds: number };
}

/** Series count and size of /metrics for 10 actor types as live actors grow; render time is a median of 20. */
export async function runCardinality10(steps = [10, 1000, 10_000]): Promise<ScaleFigures["cardinality"]> {
  const registry = setup({ use: tenTypes(), storage: { driver: "memory" }, logger: pino({ level: "silent" }), metrics: { token: "bench" } });
  const manager = await registry.start();
  const rows: ScaleFigures["cardinality"] = [];
  let created = 0;
  try {
    for (const target of steps) {
      while (created < target) {
        const batch = [];
        for (let i = 0; i < 500 && created < target; i++, created++) {
          const type = `type${created % 10}`;
          batch.push(manager.resolve(type, [`k${created}`], "getOrCreate").then((r) => manager.callAction(r.actorId, "increment", [])));
        }
        await Promise.all(batch);
      }
      if (rows.length === 0) await useEverything(manager);
      const { result: text, medianMs } = await timedMedian(20, () => registry.metrics.render());
      const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
      rows.push({ actors: manager.liveCount, series, bytes: Buffer.byteLength(text), gzipBytes: gzipSync(text).byteLength, renderMs: medianMs });
    }
  } finally {
    await registry.shutdown();
  }
  return rows;
}

/**
 * Capability series appear on a type's first use, so before measuring, one actor of each
 * type calls every action and sends to its queue: the scrape then holds every series these
 * types can ever produce.
 */
async function useEverything(manager: ActorManager): Promise<void> {
  for (let t = 0; t < 10; t++) {
    const { actorId } = await manager.resolve(`type${t}`, [`k${t}`], "getOrCreate");
    for (const [action, args] of [["increment", []], ["get", []], ["remember", ["v"]], ["reset", []]] as const) await manager.callAction(actorId, action, [...args]);
    await manager.sendMessage(actorId, "work", null, { wait: true });
  }
}

/**
 * The upper bound per type: the bytes one more actor type adds to the exposition when it
 * uses everything (four actions, a queue, every KV op, every SQL kind, alarms, raw HTTP and
 * WebSockets). The scale figure above counts what its types actually use.
 */
export async function bytesPerFullyUsedType(): Promise<{ lean: number; full: number }> {
  const measure = async (full: boolean) => {
    const r = new MetricsRegistry();
    const actors = declareActorMetrics(r);
    const before = Buffer.byteLength(await r.render("prometheus"));
    const m = actors.forActorType("type0", ["increment", "get", "remember", "reset"], ["work"], { onRequest: full, onWebSocket: full });
    if (full) {
      for (const op of KV_OPS) m.kv(op);
      for (const kind of SQL_KINDS) m.sql(kind);
      m.alarms();
    } else m.kv("put");
    return Buffer.byteLength(await r.render("prometheus")) - before;
  };
  return { lean: await measure(false), full: await measure(true) };
}

function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** CPU and RSS of an idle server that holds `n` sleeping actors (measured from /proc). */
export async function runIdleCost(n = 10_000, seconds = 20): Promise<ScaleFigures["idle"]> {
  const server = await startChild("bench/fixtures/idle-server.ts", { TROUPE_SLEEP_TIMEOUT_MS: "1000" });
  try {
    const pid = server.child.pid!;
    const client = createClient<any>(server.url) as any;
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < n) {
          const i = next++;
          await client[`type${i % 10}`].getOrCreate([`idle-${i}`]).increment();
        }
      }),
    );
    // Wait until every actor slept, as the server's own metrics say.
    for (;;) {
      const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer idle-bench" } })).text();
      const active = text.split("\n").filter((l) => l.startsWith("troupe_actors_active{")).reduce((a, l) => a + Number(l.split(" ")[1]), 0);
      if (active === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = cpuTicks(pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const ticks = cpuTicks(pid) - t0;
    const wall = (performance.now() - w0) / 1000;
    const hz = 100; // Linux USER_HZ
    return { actors: n, cpuPercent: (ticks / hz / wall) * 100, rssMb: rssBytes(pid) / 1024 / 1024, seconds: wall };
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
}
