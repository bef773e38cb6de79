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
import { runScaleMillion, scaleCount, scaleMillionRows } from "./scale-million.js";
import { runLayoutBench } from "./storage-layout.js";
import { CLIENT_WARMUP, ENCODINGS, ROUNDS, retried, runClientBench } from "./client-peer.js";
import { combineRounds, runHttpLoad } from "./http-load.js";
import { fmt, median, table } from "./stats.js";

// `npm run bench [-- --only=runtime,peer,client,http,layout,capabilities,metrics,scale,overhead,constant-time,instructions] [--rounds=N]`: prints tables of medians (instructions: only when named; valgrind; --instr-n=5000 --instr-warmup=6000 --instr-repeats=3 --instr-jobs=2 --instr-store=memory|sqlite).
// `--only=http` takes `--duration=N` (seconds per run, default 10; or BENCH_HTTP_DURATION), BENCH_HTTP_WARMUP (seconds, default 3)
// and runs one round unless `--rounds=N` is given.
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
          ["sequential action over a connection, p50 (after 3,000 calls)", `${fmt(m("seqConnP50Ms"), 3)} ms`, "<= 0.3 ms", p?.seqConnP50Ms === undefined ? "-" : `${fmt(p.seqConnP50Ms)} ms`, ratio(p?.seqConnP50Ms, m("seqConnP50Ms"))],
          ["sequential action over a connection, p99", `${fmt(m("seqConnP99Ms"), 3)} ms`, "", "", ""],
          ["  the first 500 calls on the fresh server, p50", `${fmt(m("seqConnColdP50Ms"), 3)} ms`, "", "", ""],
          ["  the disk's floor: 4 KB write + fdatasync, p50", `${fmt(m("diskSyncP50Ms"), 3)} ms`, "", "", ""],
          [
            "  the commit floor: bare ws server, one SQLite FULL commit per message, p50",
            `${fmt(m("floorSeqP50Ms"), 3)} ms`,
            "",
            "",
            `troupe = ${fmt(m("seqConnP50Ms") / m("floorSeqP50Ms"), 2)}x the floor`,
          ],
          ["100 connections to 100 actors, 200 pipelined calls each", `${fmt(m("fanPerSec"), 0)}/s`, ">= 50,000/s", "", ""],
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
    console.log("Clients and servers: sequential calls, durable commits on Troupe, each server in its own process");
    if (typeof c === "string") console.log(`(skipped: ${c})`);
    else {
      const rs = typeof c.rivetServer === "string" ? undefined : c.rivetServer;
      const cell = (f: { p50: number; p99: number } | undefined) => (f ? `${fmt(f.p50, 3)} / ${fmt(f.p99, 3)} ms` : "-");
      const rows: string[][] = [];
      let worst = 0;
      for (const [what, key, figures] of [["stateless HTTP action", "http", c.http], ["action over a connection", "conn", c.conn]] as const) {
        const troupe = figures.troupe!;
        for (const e of ENCODINGS) {
          const onTroupe = figures[`rivetkit ${e}`]!;
          const onRivet = rs?.[key][e];
          const vsTroupeClient = onTroupe.p50 / troupe.p50;
          worst = Math.max(worst, vsTroupeClient);
          rows.push([
            what,
            e,
            cell(troupe),
            cell(onTroupe),
            cell(onRivet),
            `${fmt(vsTroupeClient, 2)}x${vsTroupeClient > 1.1 ? " (over 1.10)" : ""}`,
            onRivet ? `${fmt(onRivet.p50 / onTroupe.p50, 1)}x / ${fmt(onRivet.p99 / onTroupe.p99, 1)}x` : "-",
          ]);
        }
      }
      console.log(
        table(
          ["path", "encoding", "troupe client on troupe (p50 / p99)", "rivetkit client on troupe", "rivetkit client on rivetkit 2.3.19", "rk-on-troupe / troupe client (p50; target <= 1.10x)", "rk-on-rivetkit / rk-on-troupe (p50 / p99)"],
          rows,
        ),
      );
      const n = (xs: Record<string, { n: number }>) => Object.values(xs)[0]?.n ?? 0;
      console.log(
        `Calls per figure: ${n(c.http)} on Troupe, in ${ROUNDS} rounds with the paths in turn (after ${CLIENT_WARMUP} untimed calls on every path, and 2,000 over HTTP and a connection on other actors of the fresh server), ${rs ? `${n(rs.http)} on RivetKit (after 20; p99 = the slowest call but ${n(rs.http) - Math.ceil(0.99 * n(rs.http))})` : "none on RivetKit"}. ` +
          `Troupe's client has one encoding of its own; its figure repeats on each row. Worst rivetkit/troupe client ratio on Troupe: ${fmt(worst, 2)}x (target <= 1.10x).`,
      );
      const us = (x: number) => `${fmt(x, 0)} µs`;
      const tHttp = c.http.troupe!;
      console.log(
        `Client CPU per HTTP call (the bench's process): Troupe's client ${us(tHttp.cpuUs)}, rivetkit's ${ENCODINGS.map((e) => `${e} ${us(c.http[`rivetkit ${e}`]!.cpuUs)}`).join(", ")}; ` +
          `rivetkit's p50 minus Troupe's: ${ENCODINGS.map((e) => `${e} ${us(1000 * (c.http[`rivetkit ${e}`]!.p50 - tHttp.p50))}`).join(", ")}.`,
      );
      const rt = c.replay.troupe;
      const rr = c.replay.rivetkit;
      if (rt && rr)
        console.log(
          `Each client's json request replayed byte for byte from a bare socket (the server's cost alone, rivetkit's by key with its body chunked): Troupe's ${cell(rt)}, rivetkit's ${cell(rr)}: ${fmt(rr.p50 / rt.p50, 2)}x at p50.`,
        );
      if (rs) console.log(`RivetKit's server: started in ${fmt(rs.startMs, 0)} ms, shut down in ${rs.shutdownMs === undefined ? "?" : fmt(rs.shutdownMs, 0)} ms; engine stopped by PID.`);
      else console.log(`(RivetKit's server: ${c.rivetServer})`);
      if (retried.length > 0) console.log(`Warm-up calls that failed and were retried: ${retried.length} (${[...new Set(retried)].join("; ")})`);
    }
    console.log();
  }

  if (want("http")) {
    const durationSec = Number(args.get("duration") ?? process.env.BENCH_HTTP_DURATION ?? 10);
    const warmupSec = Number(process.env.BENCH_HTTP_WARMUP ?? Math.min(3, durationSec));
    const httpRounds = args.has("rounds") ? rounds : 1;
    console.log(
      `HTTP under load (issue 14): autocannon, 50 keep-alive connections, ${durationSec} s per run after ${warmupSec} s of warm-up, one fresh server process per run, the load generator in this process; ${httpRounds} round(s)${httpRounds > 1 ? ", medians" : ""}`,
    );
    const perRound = [];
    for (let r = 0; r < httpRounds; r++) {
      if (httpRounds > 1) console.error(`round ${r + 1} of ${httpRounds}`);
      perRound.push(await runHttpLoad({ durationSec, warmupSec, connections: 50, actors: 100 }, (line) => console.error(line)));
    }
    const runs = combineRounds(perRound);
    const hono = runs.find((r) => r.name.startsWith("hono"))!;
    const invalid = (r: (typeof runs)[number]) => r.non2xx > 0 || r.errors > 0 || r.timeouts > 0;
    const rows = runs.map((r) => {
      const isAction = /^troupe action/.test(r.name) && !r.name.includes("durability process");
      const tput = r.rps / hono.rps;
      const p99 = r.p99 / hono.p99;
      const bad = invalid(r) || invalid(hono);
      return [
        r.name,
        `${fmt(r.rps, 0)}/s`,
        Number.isNaN(r.p50) ? "-" : `${fmt(r.p50, 3)} ms`,
        Number.isNaN(r.p99) ? "-" : `${fmt(r.p99, 3)} ms`,
        invalid(r) ? `!!! ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts: INVALID` : "0",
        r === hono ? "1.00 (baseline)" : bad ? "INVALID" : `${fmt(tput * 100, 0)}%${isAction ? (tput >= 0.5 ? " (>= 50%: met)" : " (>= 50%: MISSED)") : ""}`,
        r === hono ? "1.00x" : bad ? "INVALID" : `${fmt(p99, 2)}x${isAction ? (p99 <= 3 ? " (<= 3x: met)" : " (<= 3x: MISSED)") : ""}`,
      ];
    });
    console.log(table(["server and request", "requests/s", "p50", "p99", "non-2xx / errors", "throughput vs hono (target)", "p99 vs hono (target)"], rows));
    for (const r of runs.filter(invalid)) {
      console.log(`\n!!! INVALID RUN: ${r.name}: ${r.non2xx} non-2xx responses, ${r.errors} errors, ${r.timeouts} timeouts (status codes ${JSON.stringify(r.statusCodes)}; first response: ${r.probe}). Its figures do not count.`);
    }
    if (hono && invalid(hono)) console.log("!!! The Hono baseline itself is invalid: every ratio above is void.");
    console.log("Every server answers POST /gateway/{id}/action/increment with body {\"args\":[1]} (content-type application/json), the request both clients send.");
    if (httpRounds > 1) console.log(`requests/s by round: ${runs.map((r) => `${r.name}: ${(r.rounds ?? []).map((x) => fmt(x, 0)).join(" ")}`).join("; ")}`);
    console.log(`First responses: ${runs.map((r) => `${r.name}: ${r.probe}`).join("; ")}`);
    console.log("The machine has 2 cores: the server gets one and autocannon the other, so the node:http figure may be capped by the load generator.");
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

  // Issue 14's million-actor run (bench/scale-million.ts): part of `--only=scale`, or alone with
  // `--only=scale-million`; `--count=N` (or BENCH_SCALE_COUNT) sets the actors, default 1,000,000.
  if (want("scale") || want("scale-million")) {
    const f = await runScaleMillion({ count: scaleCount(args), log: (line) => console.error(line) });
    console.log(`Scale: ${f.n.toLocaleString("en-US")} actors created over HTTP, slept, restarted over, woken (one server process, SQLite synchronous=FULL)`);
    console.log(table(["figure", "value", "target"], scaleMillionRows(f)));
    console.log();
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

  if (only?.includes("instructions")) {
    // Issue 14: metrics on vs off in instructions (valgrind's callgrind), where wall time cannot resolve 3%. Opt-in: about 5-10 minutes.
    const instr = await import("./instructions.js");
    const why = instr.unavailable();
    console.log("Instructions (issue 14): metrics on vs off, counted by valgrind --tool=callgrind; server and client in one process, sequential actions over one WebSocket");
    if (why) console.log(`(skipped: ${why})\n`);
    else {
      const f = await instr.runInstructionBench({
        n: Number(args.get("instr-n") ?? 5000),
        warmup: Number(args.get("instr-warmup") ?? 6000),
        repeats: Number(args.get("instr-repeats") ?? 3),
        jobs: Number(args.get("instr-jobs") ?? 2),
        store: args.get("instr-store") === "sqlite" ? "sqlite" : "memory",
        log: (line) => console.error(line),
      });
      const o = f.options;
      console.log(
        table(
          ["metrics", "instructions per action (median)", "per repeat", "spread across repeats"],
          (["on", "off"] as const).map((m) => [m, fmt(f.medianPerAction[m], 0), f.perAction[m].map((x) => fmt(x, 0)).join(" "), `${fmt(f.spreadPerActionPct[m], 3)}%`]),
        ),
      );
      console.log(
        `metrics overhead: ${fmt(f.overheadPct, 2)}% (+${fmt(f.extraPerAction, 0)} instructions per action); from each repeat's runs: ${f.overheadByRepeatPct.map((x) => `${fmt(x, 2)}%`).join(" ")}. ` +
          `N = ${o.n} actions after ${o.warmup} to warm up, minus a run of the warm-up alone; ${o.store} store; ${o.repeats} repeats.`,
      );
      console.log(`Spread of raw totals across repeats (each repeat pads the environment differently; see bench/instructions.ts): ${Object.entries(f.spreadTotalPct).map(([k, v]) => `${k}: ${fmt(v, 3)}%`).join("; ")}.`);
      console.log(`${f.runs.length} runs, ${o.jobs} at a time (nice 19), ${fmt(f.wallSeconds / 60, 1)} min; ${f.valgrind}. Each: ${f.command}\n`);
    }
  }
}

await main();
