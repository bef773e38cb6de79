import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Metrics on versus off, counted in instructions (issue 14): wall time on a shared 2-core machine
 * spreads more than the few percent metrics cost, and `perf stat -e instructions` is not available
 * here, so the workload (bench/fixtures/instr-workload.ts: server and client in one process,
 * WARMUP then N sequential actions over a WebSocket) runs under `valgrind --tool=callgrind`, which
 * counts every user-space instruction of every thread of the process, whatever else the machine is
 * doing. Kernel work (syscalls, the loopback TCP stack) is not counted.
 *
 * Per repeat and configuration two runs: warm-up only (N = 0) and warm-up + N. Startup, warm-up
 * and shutdown cancel in the difference, so instructions per action = (total(N) - total(0)) / N.
 * The warm-up is long (6,000 actions) because V8 keeps optimizing this code path for about 5,000
 * actions: 500 in, an action still counted 585k instructions against 162k in the steady state,
 * most of the difference compiler work.
 *
 * Repeatability: V8 decides when and how to optimize from counters, so anything that feeds it a
 * value that moves with wall time or memory layout can move the count by a one-off chunk of
 * compiler work, or steer the steady state. Each source found is pinned: V8's background threads
 * and GC tasks (NODE_FLAGS), glibc's malloc bin search (MALLOC_TUNABLES), the module loading order
 * (build), the environment's size (workloadEnv), and in the fixture the clocks, the GC durations
 * the metrics observe, the timers and the keep-alive connection. What remains: same-configuration
 * totals agree to about 0.01-0.05%.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// --predictable: V8's background threads off (compiler and GC work on the main thread, in program order).
// --predictable-gc-schedule: fixed heap sizing, no memory reducer. The two --no-*-task flags: a GC
// starts when allocation reaches its limit, not in a task the event loop runs when wall time lets it.
// --interrupt-budget at a tenth of V8's default: functions tier up ten times sooner, so every
// optimization is done within the warm-up (`--trace-opt` counts the same with N = 0 and N = 5,000,
// metrics on and off). At the default, three compiles per configuration still landed after 6,000
// actions, and the code decides which: after 2026-11-26's speed work, compiler functions led the
// difference between the on and off totals, and metrics "cost" -4.9% (-7,060 per action).
export const NODE_FLAGS = ["--predictable", "--predictable-gc-schedule", "--no-minor-gc-task", "--no-incremental-marking-task", "--random-seed=1", "--interrupt-budget=6758"] as const;
// --smc-check=all-non-file: valgrind re-checks translated code for changes in anonymous mappings,
// which is where V8 puts JIT code (and wasm); the node binary's own code is never rewritten. It
// counted the same totals as --smc-check=all, at about half the run time.
// glibc's malloc: by default each thread caches 7 freed chunks per size class; past that, a
// malloc searches the bins, at a cost that depends on the heap's layout, which drifted between
// otherwise identical runs (0.1-0.2% of the total, most of the run-to-run spread). A cache deep
// enough for the workload's churn takes the bin search out of the steady state.
export const MALLOC_TUNABLES = "glibc.malloc.tcache_count=65535";
export const VALGRIND_FLAGS = ["--tool=callgrind", "--smc-check=all-non-file", "--dump-instr=no", "--dump-line=no"] as const;

export interface InstructionOptions {
  /** Measured actions per run (default 5,000). */
  n: number;
  /** Actions before them in every run, the N = 0 baseline included (default 6,000). */
  warmup: number;
  /** Runs of each configuration (default 3). */
  repeats: number;
  store: "memory" | "sqlite";
  /** valgrind processes at once; each uses one core (valgrind serializes a process's threads). */
  jobs: number;
  log?: (line: string) => void;
}

export interface InstructionRun {
  metrics: "on" | "off";
  repeat: number;
  n: number;
  instructions: number;
  seconds: number;
}

export interface InstructionFigures {
  options: Omit<InstructionOptions, "log">;
  runs: InstructionRun[];
  /** Instructions per action, one per repeat (from the two runs of that repeat). */
  perAction: Record<"on" | "off", number[]>;
  /** Median of perAction (the mean of the middle two for an even count). */
  medianPerAction: Record<"on" | "off", number>;
  /** on / off - 1 of medianPerAction, in percent. */
  overheadPct: number;
  /** Extra instructions per action with metrics on (medians). */
  extraPerAction: number;
  /** The overhead from each repeat's own figures, to show how much it moves. */
  overheadByRepeatPct: number[];
  /**
   * (max - min) / median across repeats, in percent: of the per-action figures, and of the raw
   * totals per (metrics, N). Repeats differ in their environment's size (workloadEnv), so the
   * totals can differ by a one-off amount; the per-action figures should not.
   */
  spreadPerActionPct: Record<"on" | "off", number>;
  spreadTotalPct: Record<string, number>;
  wallSeconds: number;
  valgrind: string;
  command: string;
}

/** Why the section cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  const v = spawnSync("valgrind", ["--version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) return "valgrind is not installed (apt-get install valgrind)";
  if (!fs.existsSync(path.join(root, "node_modules/.bin/esbuild"))) return "node_modules/.bin/esbuild is missing (npm ci)";
  return undefined;
}

/**
 * Bundles the fixture (src/ and the pure-JS dependencies in one ESM file) and the SQLite commit
 * worker next to it, so plain `node` runs them: no tsx loader thread, no transform cache. One
 * file, not a module graph: Node's ESM loader reads modules asynchronously on the libuv thread
 * pool, so the order in which a graph's CommonJS packages reached cjs-module-lexer (and with it
 * V8's type feedback and optimizations) varied from run to run, by up to 8% of startup.
 */
function build(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-instr-"));
  const r = spawnSync(
    path.join(root, "node_modules/.bin/esbuild"),
    [
      "bench/fixtures/instr-workload.ts",
      "src/storage/sqlite-commit-worker.ts",
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node20",
      // Native addons stay outside; bundled CommonJS code gets a real require for them and for node: builtins.
      "--external:better-sqlite3",
      "--external:cbor-extract",
      "--banner:js=import { createRequire as __instrRequire } from 'node:module'; const require = __instrRequire(import.meta.url);",
      `--outdir=${path.join(dir, "bench/fixtures")}`,
      "--entry-names=[name]",
      "--log-level=error",
    ],
    { cwd: root, encoding: "utf8" },
  );
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`esbuild failed: ${r.stderr}`);
  }
  // "type": "module" for the .js files and ../../package.json for src/common/version.ts; the native addons from the repo.
  fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

const live = new Set<ChildProcess>();
const killAll = () => {
  for (const c of live) c.kill("SIGKILL");
};

/**
 * The workload's whole environment. Its size places the initial stack, and the stack's placement
 * decided whether V8 did a one-off piece of work (about 38 million instructions, 0.9% of a run)
 * during the metrics-on warm-up: runs that differed only in the length of `INSTR_N=0` versus
 * `INSTR_N=5000` landed on different sides, which broke the subtraction. So every run of a repeat
 * gets the same environment, byte for byte in size, and each repeat a different padding: the
 * repeats sample stack placements, and the spread across them shows how much that moves.
 */
function workloadEnv(metrics: "on" | "off", n: number, o: InstructionOptions, repeat: number): NodeJS.ProcessEnv {
  const ten = (x: number) => String(x).padStart(10, "0");
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GLIBC_TUNABLES: MALLOC_TUNABLES,
    INSTR: `${metrics === "on" ? 1 : 0},${ten(n)},${ten(o.warmup)},${o.store}`,
    INSTR_PAD: "x".repeat(16 * repeat),
  };
}

/** One workload process under callgrind; resolves with its instruction total. */
function countOnce(dir: string, metrics: "on" | "off", n: number, repeat: number, o: InstructionOptions, tag: string, index: number): Promise<{ instructions: number; seconds: number }> {
  // A fixed-length name: valgrind's own arguments share the address space with the workload.
  const outFile = path.join(dir, `callgrind.${String(index).padStart(4, "0")}.out`);
  const args = [...VALGRIND_FLAGS, `--callgrind-out-file=${outFile}`, process.execPath, ...NODE_FLAGS, path.join(dir, "bench/fixtures/instr-workload.js")];
  const env = workloadEnv(metrics, n, o, repeat);
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("valgrind", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    // Counts do not depend on scheduling: yield the CPU to anything timing-sensitive running alongside.
    try {
      if (child.pid) os.setPriority(child.pid, 19);
    } catch {
      /* not permitted: run at normal priority */
    }
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30 * 60_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      try {
        if (code !== 0) throw new Error(`exit ${code ?? signal}`);
        const last = out.trim().split("\n").at(-1) ?? "";
        if ((JSON.parse(last) as { count?: number }).count !== o.warmup + n) throw new Error(`the workload said ${last}, expected count ${o.warmup + n}`);
        resolve({ instructions: readTotal(outFile, err), seconds: (performance.now() - t) / 1000 });
      } catch (e) {
        reject(new Error(`callgrind run ${tag} failed (${(e as Error).message}): ${err.split("\n").slice(-15).join("\n")}`));
      } finally {
        fs.rmSync(outFile, { force: true });
      }
    });
  });
}

/** `totals:` (or `summary:`) of the callgrind out file, checked against `Collected :` on stderr. */
export function readTotal(outFile: string, stderr: string): number {
  const text = fs.readFileSync(outFile, "utf8");
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(text);
  if (!m) throw new Error(`no totals line in ${outFile}`);
  const total = Number(m[1]);
  const c = /Collected\s*:\s*(\d+)/.exec(stderr);
  if (c && Number(c[1]) !== total) throw new Error(`out file says ${total}, stderr ${c[1]}`);
  return total;
}

/** The middle value; with an even count, the mean of the two middle ones (bench/stats.ts's median takes the lower). */
export function mid(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

const spread = (xs: number[]) => ((Math.max(...xs) - Math.min(...xs)) / mid(xs)) * 100;

export async function runInstructionBench(o: InstructionOptions): Promise<InstructionFigures> {
  const log = o.log ?? (() => {});
  for (const k of ["n", "warmup", "repeats", "jobs"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new TypeError(`instructions bench: ${k} must be a positive integer`);
  }
  const valgrind = spawnSync("valgrind", ["--version"], { encoding: "utf8" }).stdout.trim();
  const t0 = performance.now();
  const dir = build();
  const onSignal = (sig: NodeJS.Signals) => {
    killAll();
    fs.rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, sig);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", killAll);
  try {
    // Every repeat is a full set (on/off x N/0); the order alternates so neither side always goes first.
    const plan: Array<{ metrics: "on" | "off"; n: number; repeat: number }> = [];
    for (let r = 0; r < o.repeats; r++) {
      for (const metrics of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        for (const n of [o.n, 0]) plan.push({ metrics, n, repeat: r });
      }
    }
    const runs: InstructionRun[] = [];
    let next = 0;
    const worker = async () => {
      while (next < plan.length) {
        const index = next++;
        const p = plan[index]!;
        const tag = `${p.metrics}-n${p.n}-r${p.repeat}`;
        const { instructions, seconds } = await countOnce(dir, p.metrics, p.n, p.repeat, o, tag, index);
        runs.push({ ...p, instructions, seconds });
        log(`  ${tag}: ${instructions.toLocaleString("en-US")} instructions in ${seconds.toFixed(0)} s (${runs.length}/${plan.length})`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.jobs, plan.length) }, worker));

    const total = (metrics: "on" | "off", n: number, repeat: number) => runs.find((x) => x.metrics === metrics && x.n === n && x.repeat === repeat)!.instructions;
    const perAction = { on: [] as number[], off: [] as number[] };
    for (let r = 0; r < o.repeats; r++) for (const m of ["on", "off"] as const) perAction[m].push((total(m, o.n, r) - total(m, 0, r)) / o.n);
    // Only runs of the same repeat (the same environment) are subtracted from each other.
    const on = mid(perAction.on);
    const off = mid(perAction.off);
    const spreadTotalPct: Record<string, number> = {};
    for (const m of ["on", "off"] as const) {
      for (const n of [0, o.n]) spreadTotalPct[`metrics ${m}, N=${n}`] = spread(runs.filter((x) => x.metrics === m && x.n === n).map((x) => x.instructions));
    }
    const { log: _log, ...options } = o;
    return {
      options,
      runs,
      perAction,
      medianPerAction: { on, off },
      overheadPct: (on / off - 1) * 100,
      extraPerAction: on - off,
      overheadByRepeatPct: perAction.on.map((x, i) => (x / perAction.off[i]! - 1) * 100),
      spreadPerActionPct: { on: spread(perAction.on), off: spread(perAction.off) },
      spreadTotalPct,
      wallSeconds: (performance.now() - t0) / 1000,
      valgrind,
      command: `env -i PATH=… GLIBC_TUNABLES=${MALLOC_TUNABLES} INSTR=1|0,${String(o.n).padStart(10, "0")}|0000000000,${String(o.warmup).padStart(10, "0")},${o.store} INSTR_PAD=<16 x repeat bytes> valgrind ${VALGRIND_FLAGS.join(" ")} --callgrind-out-file=… node ${NODE_FLAGS.join(" ")} <esbuild bundle>/bench/fixtures/instr-workload.js`,
    };
  } finally {
    killAll();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("exit", killAll);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
