import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runRuntimeBench, type RuntimeFigures } from "./runtime.js";
import { runCapabilityBench } from "./capabilities.js";
import { runCardinalityBench } from "./cardinality.js";
import { run as runConstantTime } from "./constant-time.js";
import { run as runMetrics } from "./metrics.js";
import { metricsCpuShare, overheadRun, type OverheadRun } from "./overhead.js";
import { bytesPerFullyUsedType, runCardinality10, runIdleCost } from "./scale.js";
import { runLayoutBench } from "./storage-layout.js";
import { runClientBench } from "./client-peer.js";
import { fmt, median, table } from "./stats.js";

// `npm run bench [-- --only=runtime,peer,client,layout,capabilities,metrics,scale,overhead,constant-time] [--rounds=N]`: prints tables of medians.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const only = args.get("only")?.split(",");
const want = (name: string) => !only || only.includes(name);
const rounds = Number(args.get("rounds") ?? 3);

interface PeerFigures {
  seqConnP50Ms?: number;
  concurrent1000Ms?: number;
  httpP50Ms?: number;
  create50Ms?: number;
  [k: string]: unknown;
}

function runPeer(): PeerFigures | string {
  const script = path.join(root, "bench/peer/rivetkit-bench.mjs");
  if (!fs.existsSync(script)) return "bench/peer is missing";
  const setup = spawnSync("sh", [path.join(root, "bench/peer/setup.sh")], { stdio: "inherit" });
  if (setup.status !== 0) return "could not install rivetkit in bench/peer";
  const env = { ...process.env };
  delete env.RUST_BACKTRACE;
  const r = spawnSync(process.execPath, [script, "--json"], { env, encoding: "utf8", timeout: 10 * 60_000, stdio: ["ignore", "pipe", "inherit"] });
  const last = r.stdout?.trim().split("\n").at(-1);
  if (r.status !== 0 || !last) return `peer run failed (exit ${r.status})`;
  return (JSON.parse(last) as { figures: PeerFigures }).figures;
}

async function main(): Promise<void> {
  console.log(`Troupe bench on ${process.version}, ${rounds} rounds; medians. The machine is shared: compare ratios, not single runs.\n`);

  if (want("runtime")) {
    const runs: RuntimeFigures[] = [];
    for (let r = 0; r < rounds; r++) runs.push(await runRuntimeBench({ rounds: 5 }));
    const m = (k: keyof RuntimeFigures) => median(runs.map((x) => x[k]));
    const peer = want("peer") ? runPeer() : "skipped";
    const p = typeof peer === "string" ? undefined : peer;
    const ratio = (peerVal: number | undefined, ours: number) => (peerVal === undefined ? "-" : `${fmt(peerVal / ours, 1)}x`);
    console.log("Runtime (durable commits: SQLite WAL, synchronous=FULL; server in its own process)");
    console.log(
      table(
        ["figure", "troupe", "target", "rivetkit 2.3.19", "troupe faster by"],
        [
          ["sequential action over a connection, p50", `${fmt(m("seqConnP50Ms"), 3)} ms`, "<= 0.3 ms", p?.seqConnP50Ms === undefined ? "-" : `${fmt(p.seqConnP50Ms)} ms`, ratio(p?.seqConnP50Ms, m("seqConnP50Ms"))],
          ["sequential action over a connection, p99", `${fmt(m("seqConnP99Ms"), 3)} ms`, "", "", ""],
          ["1,000 concurrent actions on one connection", `${fmt(m("concurrent1000Ms"))} ms (${fmt(m("concurrentPerSec"), 0)}/s)`, ">= 20,000/s", p?.concurrent1000Ms === undefined ? "-" : `${fmt(p.concurrent1000Ms)} ms`, ratio(p?.concurrent1000Ms, m("concurrent1000Ms"))],
          ["stateless HTTP action, p50", `${fmt(m("httpP50Ms"), 3)} ms`, "<= 2 ms", p?.httpP50Ms === undefined ? "-" : `${fmt(p.httpP50Ms)} ms`, ratio(p?.httpP50Ms, m("httpP50Ms"))],
          ["stateless HTTP action, p99", `${fmt(m("httpP99Ms"), 3)} ms`, "", "", ""],
          [
            "1,000 new actors created",
            `${fmt(m("create1000Ms"))} ms`,
            "<= 1 s",
            p?.create50Ms === undefined ? "-" : `50 actors: ${fmt(p.create50Ms)} ms`,
            p?.create50Ms === undefined ? "-" : `${fmt((p.create50Ms / 50) / (m("create1000Ms") / 1000), 0)}x per actor`,
          ],
        ],
      ),
    );
    if (typeof peer === "string") console.log(`(peer: ${peer})`);
    console.log();
  }

  if (want("client")) {
    const c = await runClientBench();
    console.log("Clients against one Troupe server (durable; sequential calls; target: RivetKit's client within 10% of Troupe's)");
    if (typeof c === "string") console.log(`(skipped: ${c})`);
    else {
      const rows: string[][] = [];
      for (const [what, figures] of [["stateless HTTP action", c.http], ["action over a connection", c.conn]] as const) {
        const base = figures.troupe!.p50;
        for (const [client, f] of Object.entries(figures)) rows.push([what, client, `${fmt(f.p50, 3)} ms`, `${fmt(f.p99, 3)} ms`, client === "troupe" ? "1.00x" : `${fmt(f.p50 / base, 2)}x`]);
      }
      console.log(table(["path", "client", "p50", "p99", "p50 vs troupe's client"], rows));
    }
    console.log();
  }

  if (want("layout")) {
    const l = runLayoutBench(rounds);
    console.log("Storage layout (why one database: docs/ARCHITECTURE.md)");
    console.log(
      table(
        ["figure", "one database", "one file per actor", "ratio"],
        [
          ["create 1,000 actors", `${fmt(l.sharedCreate1000Ms)} ms`, `${fmt(l.perFileCreate1000Ms)} ms`, `${fmt(l.perFileCreate1000Ms / l.sharedCreate1000Ms, 0)}x`],
          ["1,000 commits over 100 actors", `${fmt(l.sharedCommit1000Ms)} ms`, `${fmt(l.perFileCommit1000Ms)} ms`, `${fmt(l.perFileCommit1000Ms / l.sharedCommit1000Ms, 1)}x`],
        ],
      ),
    );
    console.log();
  }

  if (want("capabilities")) {
    const c = await runCapabilityBench(rounds);
    console.log("Capabilities (in process, SQLite with synchronous=FULL; medians)");
    console.log(
      table(
        ["figure", "value"],
        [
          ["KV put inside an action (5,000 per action)", `${fmt(c.kvPutPerSec, 0)}/s`],
          ["KV get inside an action (5,000 per action)", `${fmt(c.kvGetPerSec, 0)}/s`],
          ["SQL insert inside a transaction (10,000 per action)", `${fmt(c.sqlInsertPerSec, 0)}/s`],
          ["alarm lateness, 1,000 alarms over 1 s, p50", `${fmt(c.alarmLatenessP50Ms)} ms`],
          ["alarm lateness, p99", `${fmt(c.alarmLatenessP99Ms)} ms`],
          ["queue throughput, 2,000 messages sent at once, handled", `${fmt(c.queueMsgPerSec, 0)}/s`],
        ],
      ),
    );
    console.log();
  }

  if (want("metrics")) {
    await runMetrics();
    const c = await runCardinalityBench();
    console.log("Cardinality: /metrics for one actor type as live actors grow (in-process render)");
    console.log(table(["live actors", "troupe_* series", "bytes", "render"], c.rows.map((r) => [String(r.actors), String(r.series), String(r.bytes), `${fmt(r.renderMs)} ms`])));
    console.log();
  }

  if (want("scale")) {
    const rows = await runCardinality10();
    console.log("Scale: /metrics with 10 actor types as live actors grow (full catalog; render median of 20)");
    console.log(table(["live actors", "samples", "bytes", "bytes gzip (on the wire)", "render"], rows.map((r) => [String(r.actors), String(r.series), String(r.bytes), String(r.gzipBytes), `${fmt(r.renderMs)} ms`])));
    console.log("targets: identical series, render <= 5 ms, <= 150 KB");
    const perType = await bytesPerFullyUsedType();
    console.log(`Bytes one actor type adds: ${perType.lean} as the bench's types use it (4 actions, a queue, KV put); ${perType.full} when it uses every capability`);
    const idle = await runIdleCost(10_000, 20);
    console.log(`Idle cost: ${idle.actors} sleeping actors, ${fmt(idle.seconds, 0)} s sampled: CPU ${fmt(idle.cpuPercent, 2)}% of one core (target < 1%), RSS ${fmt(idle.rssMb, 0)} MB\n`);
  }

  if (want("overhead")) {
    // Interleave on/off runs, swapping which goes first each round, so drift on a shared
    // machine and any first-of-the-pair effect hit both alike.
    const runs: Record<"on" | "off", OverheadRun[]> = { on: [], off: [] };
    for (let r = 0; r < rounds; r++) {
      for (const metrics of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) runs[metrics].push(await overheadRun(metrics));
    }
    const rate = (m: "on" | "off") => median(runs[m].map((x) => x.actionsPerSec));
    const cpu = (m: "on" | "off") => median(runs[m].map((x) => x.cpuMsPer1000));
    console.log("Overhead: 60 bursts of 1,000 concurrent actions on one connection, metrics on vs off, one server process per run");
    console.log(
      table(
        ["metrics", "actions/s (median)", "server CPU ms per 1,000 actions (median)", "runs (actions/s)"],
        (["on", "off"] as const).map((m) => [m, fmt(rate(m), 0), fmt(cpu(m)), runs[m].map((x) => fmt(x.actionsPerSec, 0)).join(" ")]),
      ),
    );
    console.log(`on/off: throughput ${fmt((rate("on") / rate("off")) * 100, 1)}%, server CPU per action ${fmt((cpu("on") / cpu("off")) * 100, 1)}% (wall time here spreads ±6–25% run to run; the V8 profile share below is the figure that resolves a few percent)`);
    const shares: number[] = [];
    for (let r = 0; r < 3; r++) shares.push(await metricsCpuShare());
    console.log(`Server CPU in src/metrics, from a V8 profile of a metrics-on run: ${shares.map((x) => `${fmt(x)}%`).join(" ")}; median ${fmt(median(shares))}%\n`);
  }

  if (want("constant-time")) await runConstantTime();
}

await main();
