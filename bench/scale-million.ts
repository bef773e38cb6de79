import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type CreateFigures, type CreateForm, Http, IN_FLIGHT, type Latency, type Mem, type Runtime, type Server, adminOf, createPhase, dirBytes, idsOf, int, latency, live, loadAvg, medianOf, memAfterGc, pool, prepareServer, sample, sequentialCalls, sleep, startServer, stopServer, waitAllAsleep } from "./scale-harness.js";
import { printScaleProfile, runScaleProfile } from "./scale-profile.js";

// Issue 14's scale targets, against bench/fixtures/scale-server.ts in its own process (SQLite at
// full durability, a fresh temp data dir): create N actors over HTTP with 100 requests in flight,
// let them sleep, restart over them, wake some one at a time, and weigh the awake ones.
// `npm run bench -- --only=scale --count=N` (or BENCH_SCALE_COUNT; default 1,000,000). Standalone:
// `node --import tsx bench/scale-million.ts --count=N [--trial=N] [--awake=K] [--runtime=tsx] [--json=FILE]`;
// with `--profile --count=N [--awake=K] --out=DIR` it writes a CPU profile of the create phase and heap
// snapshots with none and K (default 10,000) awake actors, and prints where the time and bytes go.

export const SCALE_TARGETS = { createsPerSec: 10_000, startupMs: 1000, wakeP50Ms: 1, heapPerAwakeBytes: 2048 } as const;

// ---- the whole run -----------------------------------------------------------------------

export interface ScaleMillionFigures {
  n: number;
  runtime: Runtime;
  loadBefore: string;
  loadAfter: string;
  formTrial: { n: number; results: CreateFigures[] };
  create: CreateFigures;
  dbBytes: number;
  asleep: { waitMs: number; mem: Mem };
  startup: {
    empty: Server["timing"] & { spawnToListeningMs: number };
    overN: Array<Server["timing"] & { spawnToListeningMs: number }>;
    shutdownMs: number;
  };
  freshMem: Mem;
  wake: { httpGet: Latency; awakeGet: Latency; httpIncrement: Latency; awakeIncrement: Latency; inProcessWake: Latency; inProcessAwake: Latency; liveAfter: number };
  awake: { k: number; before: Mem; withK: Mem; afterSleep: Mem; heapPerActor: number; rssPerActor: number; sleepWaitMs: number };
}

export interface ScaleMillionOptions {
  count: number;
  runtime?: Runtime;
  /** Actors per form in the trial of the two create forms. */
  trial?: number;
  /** The first creates on the fresh server, also reported on their own (default: 30,000, at most a tenth of count). */
  warmup?: number;
  /** Actors held awake for the per-actor memory figure. */
  awake?: number;
  log?: (line: string) => void;
}

/** The count from `--count=N`, else BENCH_SCALE_COUNT, else 1,000,000. */
export function scaleCount(args: ReadonlyMap<string, string>): number {
  const raw = args.get("count") ?? process.env.BENCH_SCALE_COUNT ?? "1000000";
  const n = Number(raw.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < 10_000) throw new Error(`--count must be an integer of at least 10,000 (got ${raw})`);
  return n;
}

const timingOf = (s: Server) => ({ ...s.timing, spawnToListeningMs: s.spawnToListeningMs });

export async function runScaleMillion(opts: ScaleMillionOptions): Promise<ScaleMillionFigures> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const n = opts.count;
  const trialN = opts.trial ?? Math.min(10_000, n);
  const warmupN = opts.warmup ?? Math.min(30_000, Math.floor(n / 10));
  const k = Math.min(opts.awake ?? 10_000, n);
  const runtime = opts.runtime ?? "built";
  prepareServer(runtime, log);
  const loadBefore = loadAvg();
  const servers: Server[] = [];
  const start = async (env: Record<string, string>) => {
    const s = await startServer(env);
    servers.push(s);
    return s;
  };
  try {
    // 1a. Which create form is faster: each on a fresh server, the same N, alternating for three rounds.
    const results: CreateFigures[] = [];
    for (let round = 0; round < 3; round++) {
      for (const form of round % 2 === 0 ? (["put+action", "getOrCreate"] as const) : (["getOrCreate", "put+action"] as const)) {
        const s = await start({ BENCH_SLEEP_MS: "2000" });
        results.push(await createPhase(s, form, trialN, log));
        const r = results.at(-1)!;
        log(`form trial: ${form}: ${Math.round(r.perSec)}/s over ${trialN}, server CPU ${Math.round(r.serverCpuUsPerCreate)} µs per create`);
        await stopServer(s);
      }
    }
    const medianRate = (form: CreateForm) => medianOf(results.filter((r) => r.form === form).map((r) => r.perSec));
    const form: CreateForm = medianRate("getOrCreate") >= medianRate("put+action") ? "getOrCreate" : "put+action";

    // 1b. The big run, in a data dir that outlives the server.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-scale-million-"));
    try {
      let s = await start({ BENCH_SLEEP_MS: "2000", BENCH_SCALE_DATA_DIR: dataDir });
      const empty = timingOf(s);
      log(`creating ${n.toLocaleString("en-US")} actors (${form}, ${IN_FLIGHT} in flight); load ${loadAvg()}`);
      const create = await createPhase(s, form, n, log, warmupN);
      log(`created: ${Math.round(create.perSec)}/s overall, ${create.errors} errors`);

      // 2. Everyone asleep (sleepTimeoutMs 2 s), then the heap after GC.
      const waitMs = await waitAllAsleep(s, 120_000);
      await sleep(1000);
      const asleepMem = await memAfterGc(s);
      log(`all asleep after ${Math.round(waitMs)} ms: heap ${mb(asleepMem.heapUsed)}, RSS ${mb(asleepMem.rss)}`);
      const dbBytes = dirBytes(dataDir);

      // 3. Restarts over the N stored actors (a 30 s sleep timeout from here, so awake ones stay awake while measured).
      const shutdownMs = await stopServer(s);
      const overN: ScaleMillionFigures["startup"]["overN"] = [];
      for (let r = 0; r < 3; r++) {
        s = await start({ BENCH_SLEEP_MS: "30000", BENCH_SCALE_DATA_DIR: dataDir });
        overN.push(timingOf(s));
        if (r < 2) await stopServer(s);
      }
      log(`startup over ${n} actors: ${overN.map((t) => `${Math.round(t.spawnToListeningMs)} ms`).join(", ")}`);
      const freshMem = await memAfterGc(s);

      // 4. Wakes, one at a time, of random sleeping actors; then the same actors awake.
      const h = new Http(s.url);
      const keys = sample(n, 3200 + k);
      const ids = await idsOf(h, keys);
      if ((await live(s)) !== 0) throw new Error("looking up ids woke actors");
      const warm = ids.slice(0, 200);
      const getSet = ids.slice(200, 1200);
      const incSet = ids.slice(1200, 2200);
      const inProcSet = ids.slice(2200, 3200);
      const kSet = ids.slice(3200);
      await sequentialCalls(h, warm, "get");
      await sequentialCalls(h, warm, "increment");
      const httpGet = latency(await sequentialCalls(h, getSet, "get"));
      const awakeGet = latency(await sequentialCalls(h, getSet, "get"));
      const httpIncrement = latency(await sequentialCalls(h, incSet, "increment"));
      const awakeIncrement = latency(await sequentialCalls(h, incSet, "increment"));
      // The runtime's share: manager.callAction in the server's process, no HTTP; a wake, then the same actors awake.
      const inProcess = async () => {
        const ms: number[] = [];
        for (let i = 0; i < inProcSet.length; i += 200) ms.push(...(await adminOf(s).json<{ ms: number[] }>("GET", `/call-timed?action=get&ids=${inProcSet.slice(i, i + 200).join(",")}`)).ms);
        return latency(ms);
      };
      const inProcessWake = await inProcess();
      const inProcessAwake = await inProcess();
      const liveAfter = await live(s);
      log(`wake (get) p50 ${httpGet.p50.toFixed(3)} ms, awake p50 ${awakeGet.p50.toFixed(3)} ms; live ${liveAfter}`);

      // 5. Memory per awake actor: none awake, K awake, all asleep again.
      await adminOf(s).json("GET", "/sleep-all");
      h.reset();
      await sleep(500);
      const before = await memAfterGc(s);
      const r5 = await pool(kSet.length, IN_FLIGHT, async (i) => {
        const r = await h.request("POST", `/gateway/${kSet[i]}/action/get`, { args: [] });
        if (r.status !== 200) throw new Error(`${r.status} ${r.text.slice(0, 200)}`);
      });
      if (r5.errors > 0) throw new Error(`waking ${k} actors: ${r5.firstErrors.join("; ")}`);
      h.reset();
      await sleep(500);
      const withK = await memAfterGc(s);
      const sleepWaitMs = await waitAllAsleep(s, 120_000);
      await sleep(500);
      const afterSleep = await memAfterGc(s);
      log(`awake: ${withK.live} live, heap +${((withK.heapUsed - before.heapUsed) / withK.live).toFixed(0)} B each`);
      await stopServer(s);
      return {
        n,
        runtime,
        loadBefore,
        loadAfter: loadAvg(),
        formTrial: { n: trialN, results },
        create,
        dbBytes,
        asleep: { waitMs, mem: asleepMem },
        startup: { empty, overN, shutdownMs },
        freshMem,
        wake: { httpGet, awakeGet, httpIncrement, awakeIncrement, inProcessWake, inProcessAwake, liveAfter },
        awake: {
          k: withK.live,
          before,
          withK,
          afterSleep,
          heapPerActor: (withK.heapUsed - before.heapUsed) / withK.live,
          rssPerActor: (withK.rss - before.rss) / withK.live,
          sleepWaitMs,
        },
      };
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await stopServer(s);
  }
}

// ---- printing ----------------------------------------------------------------------------

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const ms3 = (x: number) => `${x.toFixed(3)} ms`;
const met = (ok: boolean) => (ok ? "met" : "MISSED");

/** The rows bench/run.ts prints, as [figure, value, target]. */
export function scaleMillionRows(f: ScaleMillionFigures): string[][] {
  const c = f.create;
  const minSlice = Math.min(...c.slices.map((s) => s.perSec));
  const firstSlice = c.slices[0]?.perSec ?? Number.NaN;
  const lastSlice = c.slices.at(-1)?.perSec ?? Number.NaN;
  const startupMed = [...f.startup.overN].sort((a, b) => a.spawnToListeningMs - b.spawnToListeningMs)[1] ?? f.startup.overN[0]!;
  const trialOf = (form: CreateForm) => {
    const rs = f.formTrial.results.filter((r) => r.form === form);
    return `${form} ${int(medianOf(rs.map((r) => r.perSec)))}/s (${rs.map((r) => int(r.perSec)).join(" ")}; ${int(medianOf(rs.map((r) => r.serverCpuUsPerCreate)))} µs server CPU each)`;
  };
  const trial = `${trialOf("put+action")}; ${trialOf("getOrCreate")}`;
  const t = SCALE_TARGETS;
  return [
    ["server", `${f.runtime === "built" ? "src compiled by tsc (as npm run build ships it)" : "src run by tsx"}, own process, SQLite synchronous=FULL, fresh temp data dir`, ""],
    [`create form: median of 3 alternating runs of ${int(f.formTrial.n)}, fresh server each`, `${trial}: ${c.form} used`, ""],
    [`actors created (${c.form}, ${IN_FLIGHT} in flight)`, `${int(c.n)} in ${(c.wallMs / 1000).toFixed(1)} s, ${int(c.perSec)}/s, ${c.errors} errors`, `>= ${int(t.createsPerSec)}/s in every slice: ${met(minSlice >= t.createsPerSec)}`],
    ["creates/s per 10% slice", c.slices.map((s) => int(s.perSec)).join(" "), `flat: last/first ${(lastSlice / firstSlice).toFixed(2)}, min/max ${(minSlice / Math.max(...c.slices.map((s) => s.perSec))).toFixed(2)}`],
    ["server CPU per create per 10% slice (µs, all threads)", c.slices.map((s) => int(s.serverCpuUs)).join(" "), ""],
    [
      "  of the first slice: the fresh process's first creates",
      c.warmup ? `${int(c.warmup.n)} at ${int(c.warmup.perSec)}/s; server CPU ${int(c.warmup.serverCpuUs)} µs each (${c.warmup.byThread})` : "-",
      "V8 compiles on 2 cores meanwhile",
    ],
    ["server RSS per 10% slice (MB)", c.slices.map((s) => s.rssMb.toFixed(0)).join(" "), ""],
    ["CPU during creation, share of wall time", `client ${(c.clientCpuShare * 100).toFixed(0)}%, server ${(c.serverCpuShare * 100).toFixed(0)}%`, "client < 100%"],
    [
      "server CPU per create, by thread (user + system)",
      `${int(c.serverCpuUsPerCreate)} µs: ${Object.entries(c.serverThreads)
        .sort((a, b) => b[1].user + b[1].sys - (a[1].user + a[1].sys))
        .slice(0, 4)
        .map(([k, v]) => `${k} ${int((v.user * 1e6) / c.n)} + ${int((v.sys * 1e6) / c.n)}`)
        .join(", ")}`,
      `one core at 100% would allow ${int(1e6 / c.serverCpuUsPerCreate)}/s`,
    ],
    [
      "per create, from the server's metrics",
      `${c.commitsPerCreate.toFixed(2)} state commits (+1 directory insert), each ${c.commitMeanMs.toFixed(1)} ms queued-to-durable on average; actor start (load + first turn + its commit) ${c.startMeanMs.toFixed(1)} ms`,
      "",
    ],
    ["SQLite files after creation", mb(f.dbBytes), ""],
    [`all ${int(f.n)} asleep, after GC`, `heap ${mb(f.asleep.mem.heapUsed)}, RSS ${mb(f.asleep.mem.rss)} (slept ${(f.asleep.waitMs / 1000).toFixed(1)} s after the last create)`, ""],
    ["fresh server over them, after GC", `heap ${mb(f.freshMem.heapUsed)}, RSS ${mb(f.freshMem.rss)}`, ""],
    ["startup over 0 actors: spawn to listening (registry start)", `${int(f.startup.empty.spawnToListeningMs)} ms (${f.startup.empty.registryStartMs.toFixed(1)} ms)`, ""],
    [
      `startup over ${int(f.n)} actors: spawn to listening (registry start)`,
      f.startup.overN.map((x) => `${int(x.spawnToListeningMs)} ms (${x.registryStartMs.toFixed(1)} ms)`).join(", "),
      `<= ${t.startupMs} ms: ${met(startupMed.spawnToListeningMs <= t.startupMs)} spawn-to-listening, ${met(startupMed.registryStartMs <= t.startupMs)} registry start`,
    ],
    ["  of which loading modules (process start to the fixture's first line)", f.startup.overN.map((x) => `${int(x.modulesLoadedMs)} ms`).join(", "), ""],
    ["wake over HTTP, one at a time (get), p50 / p99", `${ms3(f.wake.httpGet.p50)} / ${ms3(f.wake.httpGet.p99)}`, `p50 <= ${t.wakeP50Ms} ms: ${met(f.wake.httpGet.p50 <= t.wakeP50Ms)}`],
    ["  same actors awake (get), p50 / p99", `${ms3(f.wake.awakeGet.p50)} / ${ms3(f.wake.awakeGet.p99)}`, ""],
    ["wake over HTTP (increment: + a durable commit), p50 / p99", `${ms3(f.wake.httpIncrement.p50)} / ${ms3(f.wake.httpIncrement.p99)}`, ""],
    ["  same actors awake (increment), p50 / p99", `${ms3(f.wake.awakeIncrement.p50)} / ${ms3(f.wake.awakeIncrement.p99)}`, ""],
    ["wake in the server's process (manager.callAction get, no HTTP), p50 / p99", `${ms3(f.wake.inProcessWake.p50)} / ${ms3(f.wake.inProcessWake.p99)}`, ""],
    ["  same actors awake, p50 / p99", `${ms3(f.wake.inProcessAwake.p50)} / ${ms3(f.wake.inProcessAwake.p99)}`, ""],
    [
      `heap per awake actor (${int(f.awake.k)} awake)`,
      `${int(f.awake.heapPerActor)} B (heap ${mb(f.awake.before.heapUsed)} -> ${mb(f.awake.withK.heapUsed)})`,
      `<= ${t.heapPerAwakeBytes} B: ${met(f.awake.heapPerActor <= t.heapPerAwakeBytes)}`,
    ],
    ["RSS per awake actor", `${int(f.awake.rssPerActor)} B (RSS ${mb(f.awake.before.rss)} -> ${mb(f.awake.withK.rss)})`, ""],
    ["heap after they all slept again", `${mb(f.awake.afterSleep.heapUsed)} (${f.awake.afterSleep.heapUsed >= f.awake.before.heapUsed ? "+" : ""}${int((f.awake.afterSleep.heapUsed - f.awake.before.heapUsed) / 1024)} KB vs none awake), RSS ${mb(f.awake.afterSleep.rss)}`, "back to baseline"],
    ["load average (1/5/15 min) before / after", `${f.loadBefore} / ${f.loadAfter}`, ""],
  ];
}

// ---- standalone --------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
  const { table } = await import("./stats.js");
  const opt = (name: string) => (args.has(name) ? Number(args.get(name)) : undefined);
  if (args.has("profile")) {
    const out = args.get("out") ?? fs.mkdtempSync(path.join(os.tmpdir(), "troupe-scale-profile-"));
    const p = await runScaleProfile({ count: scaleCount(args), awake: opt("awake") ?? 10_000, form: (args.get("form") as CreateForm | undefined) ?? "getOrCreate", out, runtime: args.get("runtime") as Runtime | undefined });
    printScaleProfile(p);
    if (args.has("json")) fs.writeFileSync(args.get("json")!, JSON.stringify(p, null, 2));
  } else {
    const f = await runScaleMillion({ count: scaleCount(args), trial: opt("trial"), warmup: opt("warmup"), awake: opt("awake"), runtime: args.get("runtime") as Runtime | undefined });
    console.log(table(["figure", "value", "target"], scaleMillionRows(f)));
    if (args.has("json")) fs.writeFileSync(args.get("json")!, JSON.stringify(f, null, 2));
  }
}
