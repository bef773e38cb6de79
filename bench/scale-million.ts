import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Issue 14's scale targets, against bench/fixtures/scale-server.ts in its own process (SQLite at
// full durability, a fresh temp data dir): create N actors over HTTP with 100 requests in flight,
// let them sleep, restart over them, wake some one at a time, and weigh the awake ones.
// `npm run bench -- --only=scale --count=N` (or BENCH_SCALE_COUNT; default 1,000,000). Standalone:
// `node --import tsx bench/scale-million.ts --count=N [--trial=N] [--awake=K] [--runtime=tsx] [--json=FILE]`;
// with `--profile --count=N [--awake=K] --out=DIR` it writes a CPU profile of the create phase and heap
// snapshots with none and K (default 10,000) awake actors, and prints where the time and bytes go.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = "bench/fixtures/scale-server.ts";
const IN_FLIGHT = 100;

export const SCALE_TARGETS = { createsPerSec: 10_000, startupMs: 1000, wakeP50Ms: 1, heapPerAwakeBytes: 2048 } as const;

// ---- the server process ------------------------------------------------------------------

interface Timing {
  modulesLoadedMs: number;
  setupMs: number;
  registryStartMs: number;
  listenMs: number;
  processToListeningMs: number;
}

interface Server {
  url: URL;
  admin: URL;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Spawn to the announcement line, as this process saw it. */
  spawnToListeningMs: number;
  timing: Timing;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/**
 * How the server runs. "built" (the default): src and the fixture compiled by tsc, as `npm run
 * build` ships them, into node_modules/.cache. "tsx": from source, as the tests run. tsx compiles
 * with esbuild's keepNames, which wraps every arrow function in `__name(fn, "…")`, an
 * Object.defineProperty that turns the function's properties into a dictionary: about 260 bytes
 * more per closure, and CPU on every closure made. Figures from "tsx" are not a deployment's.
 */
export type Runtime = "built" | "tsx";
const BUILD_DIR = path.join(root, "node_modules/.cache/troupe-scale-build");
let serverEntry: string[] = [];

function prepareServer(runtime: Runtime, log: (l: string) => void): void {
  if (runtime === "tsx") {
    serverEntry = ["--import", "tsx", path.join(root, FIXTURE)];
    return;
  }
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const rel = path.relative(BUILD_DIR, root);
  const config = {
    extends: `${rel}/tsconfig.json`,
    compilerOptions: { rootDir: rel, outDir: ".", noEmit: false, declaration: false },
    include: [`${rel}/src`, `${rel}/${FIXTURE}`],
  };
  fs.writeFileSync(path.join(BUILD_DIR, "tsconfig.json"), JSON.stringify(config));
  // A package scope of its own: Node stops looking for package.json at node_modules.
  fs.writeFileSync(path.join(BUILD_DIR, "package.json"), JSON.stringify({ type: "module" }));
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(BUILD_DIR, "tsconfig.json")], { encoding: "utf8" });
  const built = path.join(BUILD_DIR, FIXTURE.replace(/\.ts$/, ".js"));
  if (!fs.existsSync(built)) throw new Error(`tsc did not build the scale server: ${r.stdout}${r.stderr}`);
  // Type errors (src is being edited meanwhile) do not stop tsc from emitting.
  if (r.status !== 0) log(`tsc reported type errors; built anyway:\n${r.stdout.split("\n").slice(0, 5).join("\n")}`);
  log(`built the server with tsc in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  serverEntry = [built];
}

async function startServer(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--expose-gc", ...nodeArgs, ...serverEntry], {
    cwd: root,
    env: { ...process.env, TROUPE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => (children.delete(child), r())));
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`scale server did not start in 120 s: ${err}`)), 120_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const l = out.split("\n").find((x) => x.startsWith('{"url"'));
      if (l) {
        clearTimeout(timer);
        resolve(l);
      }
    });
    void exited.then(() => (clearTimeout(timer), reject(new Error(`scale server exited early: ${err}`))));
  });
  const spawnToListeningMs = performance.now() - t0;
  const a = JSON.parse(line) as { url: string; admin: string; pid: number; dataDir: string; timing: Timing };
  return { url: new URL(a.url), admin: new URL(a.admin), pid: a.pid, dataDir: a.dataDir, child, exited, spawnToListeningMs, timing: a.timing };
}

async function stopServer(s: Server): Promise<number> {
  const t = performance.now();
  s.child.kill("SIGTERM");
  const killer = setTimeout(() => s.child.kill("SIGKILL"), 120_000);
  await s.exited;
  clearTimeout(killer);
  return performance.now() - t;
}

// ---- HTTP with a keep-alive pool ---------------------------------------------------------

class Http {
  private agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  constructor(private readonly base: URL) {}

  request(method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path: pathAndQuery,
          agent: this.agent,
          headers: data === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  }

  async json<T>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    const r = await this.request(method, pathAndQuery, body);
    if (r.status !== 200) throw new Error(`${method} ${pathAndQuery}: ${r.status} ${r.text.slice(0, 300)}`);
    return JSON.parse(r.text) as T;
  }

  /** Closes every pooled socket, so the server frees them before a memory reading. */
  reset(): void {
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  }
}

const adminOf = (s: Server) => new Http(s.admin);

interface Mem {
  live: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

async function memAfterGc(s: Server): Promise<Mem> {
  return adminOf(s).json<Mem>("GET", "/mem");
}

async function live(s: Server): Promise<number> {
  return (await adminOf(s).json<{ live: number }>("GET", "/live")).live;
}

async function waitAllAsleep(s: Server, timeoutMs: number): Promise<number> {
  const t = performance.now();
  for (;;) {
    if ((await live(s)) === 0) return performance.now() - t;
    if (performance.now() - t > timeoutMs) throw new Error(`actors still awake after ${timeoutMs} ms: ${await live(s)}`);
    await sleep(250);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- CPU from /proc ----------------------------------------------------------------------

const HZ = 100; // Linux USER_HZ

function procTicks(statPath: string): { comm: string; ticks: number; user: number; sys: number } {
  const text = fs.readFileSync(statPath, "utf8");
  const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const user = Number(f[11]);
  const sys = Number(f[12]);
  return { comm, ticks: user + sys, user, sys };
}

type Ticks = ReturnType<typeof procTicks>;

/** CPU ticks per thread of a process, by thread id (threads that ended are not counted). */
function threadTicks(pid: number): Map<string, Ticks> {
  const out = new Map<string, Ticks>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, procTicks(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * Seconds of CPU (user, system) per thread name between two readings. The main thread runs the
 * JavaScript. Linux names V8's platform threads (compilers, GC helpers) and the SQLite commit
 * thread (a worker) all "node"; the commit thread is the newest of them, started with the store
 * after the platform's.
 */
function threadCpuDelta(before: Map<string, Ticks>, after: Map<string, Ticks>, mainTid: number): Record<string, { user: number; sys: number }> {
  const byName: Record<string, { user: number; sys: number }> = {};
  const nodeTids = [...after].filter(([tid, a]) => a.comm === "node" && Number(tid) !== mainTid).map(([tid]) => Number(tid));
  const commitTid = nodeTids.length > 0 ? Math.max(...nodeTids) : -1;
  for (const [tid, a] of after) {
    const b = before.get(tid);
    const user = (a.user - (b?.user ?? 0)) / HZ;
    const sys = (a.sys - (b?.sys ?? 0)) / HZ;
    if (user + sys <= 0) continue;
    const id = Number(tid);
    const name = id === mainTid ? "main" : id === commitTid ? "commit thread" : a.comm === "node" ? "V8 threads" : a.comm;
    const t = (byName[name] ??= { user: 0, sys: 0 });
    t.user += user;
    t.sys += sys;
  }
  return byName;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function loadAvg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(" ");
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) n += fs.statSync(path.join(dir, f)).size;
  return n;
}

// ---- creating actors ---------------------------------------------------------------------

export type CreateForm = "put+action" | "getOrCreate";

const keyOf = (i: number) => `k${i}`;

/** One actor created and called once, in the given form; throws on a non-200. */
async function createOne(h: Http, form: CreateForm, i: number): Promise<void> {
  if (form === "getOrCreate") {
    const r = await h.request("POST", `/gateway/counter/action/increment?rvt-method=getOrCreate&rvt-key=${keyOf(i)}`, { args: [] });
    if (r.status !== 200) throw new Error(`getOrCreate ${keyOf(i)}: ${r.status} ${r.text.slice(0, 200)}`);
    return;
  }
  const { actor } = await h.json<{ actor: { actor_id: string } }>("PUT", "/actors", { name: "counter", key: keyOf(i) });
  const r = await h.request("POST", `/gateway/${actor.actor_id}/action/increment`, { args: [] });
  if (r.status !== 200) throw new Error(`increment ${actor.actor_id}: ${r.status} ${r.text.slice(0, 200)}`);
}

/** Runs fn(0..n-1) with `inFlight` calls at a time; onDone is told each completion count. */
async function pool(n: number, inFlight: number, fn: (i: number) => Promise<void>, onDone?: (done: number) => void): Promise<{ errors: number; firstErrors: string[] }> {
  let next = 0;
  let done = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        const i = next++;
        try {
          await fn(i);
        } catch (err) {
          errors++;
          if (firstErrors.length < 5) firstErrors.push(String((err as Error).message ?? err));
        }
        onDone?.(++done);
      }
    }),
  );
  return { errors, firstErrors };
}

export interface CreateFigures {
  form: CreateForm;
  n: number;
  wallMs: number;
  perSec: number;
  errors: number;
  firstErrors: string[];
  /**
   * The first creates on a fresh process, shown apart as well: V8 compiles the hot paths on
   * background threads meanwhile (on 2 cores they take CPU from the server and the client).
   * They are also the start of the first slice.
   */
  warmup: { n: number; perSec: number; serverCpuUs: number; byThread: string } | undefined;
  /** Ten slices of n/10 completions each, from the first create: rate, server CPU per create (all threads), RSS at the slice's end. */
  slices: Array<{ perSec: number; rssMb: number; live: number; serverCpuUs: number; byThread: string }>;
  clientCpuShare: number;
  serverCpuShare: number;
  serverThreads: Record<string, { user: number; sys: number }>;
  /** The server's metrics over the phase: state commits per create, their mean latency (queued to durable), and the mean actor start (load and first turn, its commit included). */
  commitsPerCreate: number;
  commitMeanMs: number;
  startMeanMs: number;
  /** Server CPU (all threads) per actor created, in µs. */
  serverCpuUsPerCreate: number;
}

/** A few of the server's own counters (from /metrics): commit and start latency sums and counts. */
async function serverCounters(s: Server): Promise<Record<string, number>> {
  const r = await new Http(s.url).request("GET", "/metrics");
  const out: Record<string, number> = {};
  for (const line of r.text.split("\n")) {
    const m = /^(troupe_actor_state_commit_duration_seconds_(?:sum|count)|troupe_actor_start_duration_seconds_(?:sum|count)|troupe_actor_starts_total)\{[^}]*?(?:kind="(\w+)")?[^}]*\} (\S+)$/.exec(line);
    if (m) out[`${m[1]}${m[2] ? `_${m[2]}` : ""}`] = Number(m[3]);
  }
  return out;
}

async function createPhase(s: Server, form: CreateForm, n: number, log: (l: string) => void, warmupN = 0): Promise<CreateFigures> {
  const counters0 = await serverCounters(s);
  const h = new Http(s.url);
  const sliceSize = Math.max(1, Math.floor(n / 10));
  const slices: CreateFigures["slices"] = [];
  let warmup: CreateFigures["warmup"];
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const threads0 = threadTicks(s.pid);
  const server0 = procTicks(`/proc/${s.pid}/stat`).ticks;
  let sliceStart = { at: t0, threads: threads0 };
  /** The span since `from`: rate, server CPU per create, and that CPU by thread. */
  const span = (from: { at: number; threads: Map<string, Ticks> }, count: number) => {
    const now = { at: performance.now(), threads: threadTicks(s.pid) };
    const delta = threadCpuDelta(from.threads, now.threads, s.pid);
    const us = (t: { user: number; sys: number }) => ((t.user + t.sys) / count) * 1e6;
    const figures = {
      perSec: count / ((now.at - from.at) / 1000),
      serverCpuUs: Object.values(delta).reduce((a, t) => a + us(t), 0),
      byThread: Object.entries(delta)
        .sort((a, b) => us(b[1]) - us(a[1]))
        .map(([name, t]) => `${name} ${Math.round(us(t))}`)
        .join(", "),
    };
    return { figures, now };
  };
  const r = await pool(n, IN_FLIGHT, (i) => createOne(h, form, i), (done) => {
    if (done === warmupN) {
      warmup = { n: warmupN, ...span({ at: t0, threads: threads0 }, warmupN).figures };
      log(`  warm-up: the first ${int(warmupN)} creates at ${int(warmup.perSec)}/s, server CPU ${Math.round(warmup.serverCpuUs)} µs each (${warmup.byThread})`);
    }
    if (done % sliceSize !== 0 || slices.length >= 10) return;
    const { figures, now } = span(sliceStart, sliceSize);
    sliceStart = now;
    const slice = { ...figures, rssMb: rssOf(s.pid) / 2 ** 20, live: -1 };
    slices.push(slice);
    if (n >= 100_000) {
      pending.push(live(s).then((x) => void (slice.live = x), () => {}));
      log(`  created ${int(done)} (${int(slice.perSec)}/s in this slice, server CPU ${Math.round(slice.serverCpuUs)} µs each (${slice.byThread}), server RSS ${slice.rssMb.toFixed(0)} MB, load ${loadAvg()})`);
    }
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverSec = (procTicks(`/proc/${s.pid}/stat`).ticks - server0) / HZ;
  const serverThreads = threadCpuDelta(threads0, threadTicks(s.pid), s.pid);
  await Promise.all(pending);
  h.reset();
  const c1 = await serverCounters(s);
  const d = (k: string) => (c1[k] ?? 0) - (counters0[k] ?? 0);
  return {
    commitsPerCreate: d("troupe_actor_state_commit_duration_seconds_count") / n,
    commitMeanMs: (d("troupe_actor_state_commit_duration_seconds_sum") / d("troupe_actor_state_commit_duration_seconds_count")) * 1000,
    startMeanMs: (d("troupe_actor_start_duration_seconds_sum") / d("troupe_actor_start_duration_seconds_count")) * 1000,
    form,
    n,
    wallMs,
    perSec: n / (wallMs / 1000),
    errors: r.errors,
    firstErrors: r.firstErrors,
    warmup,
    slices,
    clientCpuShare: (cpu.user + cpu.system) / 1000 / wallMs,
    serverCpuShare: serverSec / (wallMs / 1000),
    serverThreads,
    serverCpuUsPerCreate: (serverSec * 1e6) / n,
  };
}

// ---- waking ------------------------------------------------------------------------------

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const latency = (ms: number[]): Latency => ({ n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) });

async function sequentialCalls(h: Http, ids: readonly string[], action: string): Promise<number[]> {
  const ms: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    const r = await h.request("POST", `/gateway/${id}/action/${action}`, { args: [] });
    ms.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`${action} ${id}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  return ms;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Distinct random integers below n. */
function sample(n: number, k: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(k, n)) picked.add(Math.floor(Math.random() * n));
  return [...picked];
}

async function idsOf(h: Http, keys: readonly number[]): Promise<string[]> {
  const ids: string[] = new Array(keys.length);
  const r = await pool(keys.length, IN_FLIGHT, async (i) => {
    const { actors } = await h.json<{ actors: Array<{ actor_id: string }> }>("GET", `/actors?name=counter&key=${keyOf(keys[i]!)}`);
    if (!actors[0]) throw new Error(`no actor for ${keyOf(keys[i]!)}`);
    ids[i] = actors[0].actor_id;
  });
  if (r.errors > 0) throw new Error(`id lookups failed: ${r.firstErrors.join("; ")}`);
  return ids;
}

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
const int = (x: number) => Math.round(x).toLocaleString("en-US");
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

// ---- profiles: where creation's CPU and an awake actor's bytes go -------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A src-relative place for a generated (tsx) position, through the server's own source maps. */
async function resolvePlaces(s: Server, frames: Array<{ url: string; line: number; column: number }>): Promise<Array<string | undefined>> {
  const out: Array<string | undefined> = [];
  for (let i = 0; i < frames.length; i += 500) {
    const batch = frames.slice(i, i + 500);
    const r = await adminOf(s).request("POST", "/resolve", batch);
    const mapped = JSON.parse(r.text) as Array<{ file: string; line: number } | null>;
    mapped.forEach((m, j) => out.push(m ? `${shortFile(m.file)}:${m.line}` : shortFile(batch[j]!.url) || undefined));
  }
  return out;
}

function shortFile(url: string): string {
  if (!url) return "";
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(BUILD_DIR)) u = `(built) ${u.slice(BUILD_DIR.length + 1)}`;
  const i = u.indexOf("/node_modules/");
  if (i >= 0) return u.slice(i + "/node_modules/".length);
  return u.startsWith(root) ? u.slice(root.length + 1) : u;
}

export interface CpuSummary {
  totalMs: number;
  self: Array<{ fn: string; ms: number; share: number }>;
  inclusive: Array<{ fn: string; ms: number; share: number }>;
  byFile: Array<{ file: string; ms: number; share: number }>;
}

/** Self and inclusive time by function (name and src place), and self time by file. */
async function summarizeCpuProfile(s: Server, profile: CpuProfile, top = 25): Promise<CpuSummary> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frames = profile.nodes.map((n) => ({ url: n.callFrame.url, line: n.callFrame.lineNumber, column: n.callFrame.columnNumber }));
  const places = await resolvePlaces(s, frames);
  const label = new Map<number, string>();
  const fileOf = new Map<number, string>();
  profile.nodes.forEach((n, i) => {
    const place = places[i];
    label.set(n.id, `${n.callFrame.functionName || "(anonymous)"}${place ? ` ${place}` : ""}`);
    fileOf.set(n.id, place?.replace(/:\d+$/, "") || n.callFrame.functionName);
  });
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === "(idle)") return;
    total += us;
    self.set(label.get(id)!, (self.get(label.get(id)!) ?? 0) + us);
    file.set(fileOf.get(id)!, (file.get(fileOf.get(id)!) ?? 0) + us);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label.get(n)!;
      if (seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + us);
    }
  });
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ fn: k, ms: us / 1000, share: us / total }));
  return { totalMs: total / 1000, self: rows(self), inclusive: rows(incl).filter((r) => !/^\((root|program)\)/.test(r.fn)), byFile: rows(file).map((r) => ({ file: r.fn, ms: r.ms, share: r.share })) };
}

export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]]; location_fields?: string[] } };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

/** A parsed snapshot: per node its group (constructor, closure name, system kind), self size, and dominator. */
export interface Heap {
  count: number;
  group: string[];
  self: Float64Array;
  idom: Int32Array;
  /** Postorder numbers (-1: unreachable); dominator-tree children have lower ones than their parents. */
  post: Int32Array;
  byPost: Int32Array;
  retained: Float64Array;
  /** V8's object ids, stable across snapshots of one process. */
  ids: Float64Array;
  /** The edge that holds each node: from its dominator when that holds it directly, else its first strong retainer. */
  via: string[];
}

export function parseHeap(snap: HeapSnapshot, closurePlace: Map<number, string>): Heap {
  const m = snap.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [fType, fName, fSelf, fEdges] = ["type", "name", "self_size", "edge_count"].map((k) => m.node_fields.indexOf(k)) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((k) => m.edge_fields.indexOf(k)) as [number, number, number];
  const fId = m.node_fields.indexOf("id");
  const nodeTypes = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const weak = m.edge_types[0].indexOf("weak");
  const count = snap.nodes.length / nf;
  const group: string[] = new Array(count);
  const self = new Float64Array(count);
  const ids = new Float64Array(count);
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    ids[i] = snap.nodes[i * nf + fId]!;
    e += snap.nodes[i * nf + fEdges]! * ef;
    if (i === count - 1) firstEdge[count] = e;
    const type = nodeTypes[snap.nodes[i * nf + fType]!]!;
    const name = snap.strings[snap.nodes[i * nf + fName]!]!;
    self[i] = snap.nodes[i * nf + fSelf]!;
    group[i] =
      type === "object" ? name
      : type === "closure" ? `closure ${name || "(anonymous)"}${closurePlace.has(i) ? ` (${closurePlace.get(i)})` : ""}`
      : /string/.test(type) ? "(string)"
      : type === "number" ? "(heap number)"
      : `(${type}) ${name.length > 60 ? name.slice(0, 60) + "…" : name}`;
  }
  // Postorder from the root over strong edges, without recursion.
  const post = new Int32Array(count).fill(-1);
  const byPost = new Int32Array(count);
  const visited = new Uint8Array(count);
  const stack = new Int32Array(count + 1);
  const cursor = new Int32Array(count);
  let sp = 0;
  let n = 0;
  stack[sp++] = 0;
  visited[0] = 1;
  cursor[0] = firstEdge[0]!;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    let pushed = false;
    while (cursor[v]! < firstEdge[v + 1]!) {
      const e = cursor[v]!;
      cursor[v] = e + ef;
      if (snap.edges[e + eType] === weak) continue;
      const w = snap.edges[e + eTo]! / nf;
      if (visited[w]) continue;
      visited[w] = 1;
      cursor[w] = firstEdge[w]!;
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      post[v] = n;
      byPost[n++] = v;
    }
  }
  // Predecessors, then dominators (Cooper, Harvey and Kennedy's iteration).
  const predCount = new Int32Array(count + 1);
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (snap.edges[e + eType] !== weak) predCount[snap.edges[e + eTo]! / nf + 1]!++;
  }
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Int32Array(predCount[count]!);
  const fill = predCount.slice();
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (snap.edges[e + eType] !== weak) preds[fill[snap.edges[e + eTo]! / nf]!++] = v;
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = n - 2; i >= 0; i--) {
      const b = byPost[i]!;
      let d = -1;
      for (let p = predCount[b]!; p < predCount[b + 1]!; p++) {
        const q = preds[p]!;
        if (post[q]! < 0 || idom[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && idom[b] !== d) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  const via: string[] = new Array(count);
  const edgeLabel = (v: number, e: number) => {
    const t = edgeTypes[snap.edges[e + eType]!];
    const nm = t === "element" ? `[${snap.edges[e + eName]}]` : t === "hidden" ? "(hidden)" : snap.strings[snap.edges[e + eName]!];
    return `${group[v]!.replace(/ \(src\/.*\)$/, "")}${t === "context" ? " context var " : "."}${nm}`;
  };
  for (const fromDominator of [true, false]) {
    for (let v = 0; v < count; v++) {
      if (post[v]! < 0) continue;
      for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) {
        if (snap.edges[e + eType] === weak) continue;
        const w = snap.edges[e + eTo]! / nf;
        if (via[w] === undefined && (!fromDominator || idom[w] === v)) via[w] = edgeLabel(v, e);
      }
    }
  }
  const retained = Float64Array.from(self);
  for (let i = 0; i < n - 1; i++) {
    const v = byPost[i]!;
    const d = idom[v]!;
    if (d >= 0 && d !== v) retained[d] = retained[d]! + retained[v]!;
  }
  return { count, group, self, idom, post, byPost: byPost.subarray(0, n), retained, ids, via };
}

export interface HeapSummary {
  awake: number;
  totalDiffBytes: number;
  /** Self size added per awake actor, by group (constructor, closure, system kind): the bytes, wherever they hang. */
  perActorByGroup: Array<{ group: string; countPerActor: number; bytesPerActor: number; heldBy: string }>;
  /** The same, closures and their contexts summed by file. */
  closuresByFile: Array<{ file: string; closuresPerActor: number; bytesPerActor: number }>;
  /** Retained size of one ActorInstance (what it alone keeps alive), and that subtree by group. */
  instanceRetained: { instances: number; meanBytes: number; byGroup: Array<{ group: string; bytesPerActor: number; countPerActor: number }> };
  /** The biggest retained sizes of other per-actor classes (mean per instance, counted where not inside an ActorInstance too). */
  classRetained: Array<{ group: string; instances: number; meanRetained: number; meanSelf: number }>;
}

export function summarizeHeap(before: Heap, after: Heap, awake: number, top = 45): HeapSummary {
  const tally = (h: Heap) => {
    const m = new Map<string, { n: number; bytes: number }>();
    for (let i = 0; i < h.byPost.length; i++) {
      const v = h.byPost[i]!;
      const t = m.get(h.group[v]!) ?? { n: 0, bytes: 0 };
      t.n++;
      t.bytes += h.self[v]!;
      m.set(h.group[v]!, t);
    }
    return m;
  };
  const a = tally(before);
  const b = tally(after);
  // Who holds the objects that are new since the first snapshot, by group: the top two edges by bytes.
  const oldIds = new Set<number>();
  for (let i = 0; i < before.byPost.length; i++) oldIds.add(before.ids[before.byPost[i]!]!);
  const holders = new Map<string, Map<string, number>>();
  for (let i = 0; i < after.byPost.length; i++) {
    const v = after.byPost[i]!;
    if (oldIds.has(after.ids[v]!)) continue;
    const hm = holders.get(after.group[v]!) ?? holders.set(after.group[v]!, new Map()).get(after.group[v]!)!;
    const label = after.via[v] ?? "?";
    hm.set(label, (hm.get(label) ?? 0) + after.self[v]!);
  }
  const heldBy = (g: string) => {
    const hm = holders.get(g);
    if (!hm) return "";
    const total = [...hm.values()].reduce((x, y) => x + y, 0);
    return [...hm].sort((x, y) => y[1] - x[1]).slice(0, 2).map(([l, bytes]) => `${l} ${Math.round((bytes / total) * 100)}%`).join("; ");
  };
  const diff = [...b].map(([g, t]) => ({ group: g, countPerActor: (t.n - (a.get(g)?.n ?? 0)) / awake, bytesPerActor: (t.bytes - (a.get(g)?.bytes ?? 0)) / awake, heldBy: heldBy(g) }));
  const totalDiffBytes = diff.reduce((x, d) => x + d.bytesPerActor, 0) * awake;
  // Nodes inside an ActorInstance's dominator subtree: parents come before children in reverse postorder.
  const owner = new Int32Array(after.count).fill(-1);
  const instances: number[] = [];
  for (let i = after.byPost.length - 1; i >= 0; i--) {
    const v = after.byPost[i]!;
    if (after.group[v] === "ActorInstance") {
      owner[v] = v;
      instances.push(v);
    } else if (after.idom[v]! >= 0 && after.idom[v] !== v) owner[v] = owner[after.idom[v]!]!;
  }
  const inside = new Map<string, { n: number; bytes: number }>();
  for (let v = 0; v < after.count; v++) {
    if (owner[v]! < 0) continue;
    const t = inside.get(after.group[v]!) ?? { n: 0, bytes: 0 };
    t.n++;
    t.bytes += after.self[v]!;
    inside.set(after.group[v]!, t);
  }
  const ni = Math.max(1, instances.length);
  const classes = new Map<string, { n: number; retained: number; self: number }>();
  for (let v = 0; v < after.count; v++) {
    const g = after.group[v]!;
    if (after.post[v]! < 0 || g.startsWith("(") || g.startsWith("closure ")) continue;
    const t = classes.get(g) ?? { n: 0, retained: 0, self: 0 };
    t.n++;
    t.retained += after.retained[v]!;
    t.self += after.self[v]!;
    classes.set(g, t);
  }
  const perActorClasses = [...classes]
    .filter(([g, t]) => t.n >= awake * 0.9 && (a.get(g)?.n ?? 0) < t.n - awake * 0.9)
    .map(([g, t]) => ({ group: g, instances: t.n, meanRetained: t.retained / t.n, meanSelf: t.self / t.n }))
    .sort((x, y) => y.meanRetained - x.meanRetained)
    .slice(0, top);
  const byFile = new Map<string, { n: number; bytes: number }>();
  for (const d of diff) {
    if (!d.group.startsWith("closure ")) continue;
    const file = /\((src\/[^:]+|[^()]+):\d+\)$/.exec(d.group)?.[1] ?? "(unknown)";
    const t = byFile.get(file) ?? { n: 0, bytes: 0 };
    t.n += d.countPerActor;
    t.bytes += d.bytesPerActor;
    byFile.set(file, t);
  }
  return {
    awake,
    totalDiffBytes,
    closuresByFile: [...byFile].map(([file, t]) => ({ file, closuresPerActor: t.n, bytesPerActor: t.bytes })).filter((x) => Math.abs(x.bytesPerActor) >= 1).sort((x, y) => y.bytesPerActor - x.bytesPerActor),
    perActorByGroup: diff.filter((d) => Math.abs(d.bytesPerActor) >= 1).sort((x, y) => y.bytesPerActor - x.bytesPerActor).slice(0, top),
    instanceRetained: {
      instances: instances.length,
      meanBytes: instances.reduce((x, v) => x + after.retained[v]!, 0) / ni,
      byGroup: [...inside].map(([g, t]) => ({ group: g, bytesPerActor: t.bytes / ni, countPerActor: t.n / ni })).sort((x, y) => y.bytesPerActor - x.bytesPerActor).slice(0, top),
    },
    classRetained: perActorClasses,
  };
}

/** Closure node index to its src place, through the snapshot's locations and the server's source maps. */
async function closurePlaces(s: Server, snap: HeapSnapshot): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const loc = snap.locations;
  const lf = snap.snapshot.meta.location_fields;
  if (!loc || !lf) return out;
  const nf = snap.snapshot.meta.node_fields.length;
  const scripts = new Map((await adminOf(s).json<Array<{ scriptId: string; url: string }>>("GET", "/scripts")).map((x) => [Number(x.scriptId), x.url]));
  const [oI, sI, lI, cI] = ["object_index", "script_id", "line", "column"].map((k) => lf.indexOf(k)) as [number, number, number, number];
  const want: Array<{ node: number; url: string; line: number; column: number }> = [];
  const seen = new Map<string, number[]>();
  for (let i = 0; i < loc.length; i += lf.length) {
    const url = scripts.get(loc[i + sI]!);
    if (!url) continue;
    const k = `${url}:${loc[i + lI]}:${loc[i + cI]}`;
    const nodes = seen.get(k);
    if (nodes) nodes.push(loc[i + oI]! / nf);
    else {
      seen.set(k, [loc[i + oI]! / nf]);
      want.push({ node: loc[i + oI]! / nf, url, line: loc[i + lI]!, column: loc[i + cI]! });
    }
  }
  const places = await resolvePlaces(s, want);
  want.forEach((w, i) => {
    const p = places[i];
    if (!p) return;
    for (const node of seen.get(`${w.url}:${w.line}:${w.column}`)!) out.set(node, p);
  });
  return out;
}

async function heapOf(s: Server, file: string): Promise<Heap> {
  await adminOf(s).json("GET", `/snapshot?file=${encodeURIComponent(file)}`);
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as HeapSnapshot;
  return parseHeap(snap, await closurePlaces(s, snap));
}

export interface ProfileFigures {
  create: CreateFigures;
  cpu: CpuSummary;
  heap: HeapSummary;
  heapPerActorGc: number;
}

/** A CPU profile of the create phase (n actors, fresh server) and heap snapshots around `awake` woken actors. */
export async function runScaleProfile(opts: { count: number; awake: number; form: CreateForm; out: string; runtime?: Runtime; log?: (l: string) => void }): Promise<ProfileFigures> {
  const log = opts.log ?? ((l: string) => console.error(l));
  prepareServer(opts.runtime ?? "built", log);
  fs.mkdirSync(opts.out, { recursive: true });
  let s = await startServer({ BENCH_SLEEP_MS: "2000" }, ["--enable-source-maps"]);
  try {
    // The create phase only, through the inspector's sampling profiler (a sample every 100 µs).
    await adminOf(s).json("GET", "/profile/start?us=100");
    const create = await createPhase(s, opts.form, opts.count, log);
    const cpuFile = path.join(opts.out, "create.cpuprofile");
    await adminOf(s).json("GET", `/profile/stop?file=${encodeURIComponent(cpuFile)}`);
    log(`create phase: ${Math.round(create.perSec)}/s; profile in ${cpuFile}`);
    const cpu = await summarizeCpuProfile(s, JSON.parse(fs.readFileSync(cpuFile, "utf8")) as CpuProfile);
    await stopServer(s);

    // Awake actors: they stay awake (10 min sleep timeout) while snapshotted.
    s = await startServer({ BENCH_SLEEP_MS: "600000" }, ["--enable-source-maps"]);
    const h = new Http(s.url);
    const ids: string[] = [];
    await pool(opts.awake, IN_FLIGHT, async (i) => {
      const { actor } = await h.json<{ actor: { actor_id: string } }>("PUT", "/actors", { name: "counter", key: keyOf(i) });
      await h.json("POST", `/gateway/${actor.actor_id}/action/increment`, { args: [] });
      ids[i] = actor.actor_id;
    });
    await adminOf(s).json("GET", "/sleep-all");
    h.reset();
    await sleep(500);
    // A first snapshot, thrown away: it and the source-map lookups for its closures leave lasting
    // objects (script line ends, parsed source maps) that must not count as the awake actors'.
    await heapOf(s, path.join(opts.out, "warm-up.heapsnapshot"));
    fs.rmSync(path.join(opts.out, "warm-up.heapsnapshot"));
    const m0 = await memAfterGc(s);
    const before = await heapOf(s, path.join(opts.out, "none-awake.heapsnapshot"));
    const r = await pool(ids.length, IN_FLIGHT, async (i) => void (await h.json("POST", `/gateway/${ids[i]}/action/get`, { args: [] })));
    if (r.errors > 0) throw new Error(r.firstErrors.join("; "));
    h.reset();
    await sleep(500);
    const m1 = await memAfterGc(s);
    const after = await heapOf(s, path.join(opts.out, "awake.heapsnapshot"));
    log(`snapshots: ${before.count} nodes with none awake, ${after.count} with ${m1.live} awake`);
    return { create, cpu, heap: summarizeHeap(before, after, m1.live), heapPerActorGc: (m1.heapUsed - m0.heapUsed) / m1.live };
  } finally {
    await stopServer(s);
  }
}

// ---- standalone --------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
  const { table } = await import("./stats.js");
  const opt = (name: string) => (args.has(name) ? Number(args.get(name)) : undefined);
  if (args.has("profile")) {
    const out = args.get("out") ?? fs.mkdtempSync(path.join(os.tmpdir(), "troupe-scale-profile-"));
    const p = await runScaleProfile({ count: scaleCount(args), awake: opt("awake") ?? 10_000, form: (args.get("form") as CreateForm | undefined) ?? "getOrCreate", out, runtime: args.get("runtime") as Runtime | undefined });
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(`Create phase: ${int(p.create.n)} actors (${p.create.form}) at ${int(p.create.perSec)}/s; main-thread profile ${int(p.cpu.totalMs)} ms busy`);
    console.log(table(["self time: function and src place", "ms", "share"], p.cpu.self.map((r) => [r.fn, r.ms.toFixed(0), pct(r.share)])));
    console.log(table(["inclusive time", "ms", "share"], p.cpu.inclusive.map((r) => [r.fn, r.ms.toFixed(0), pct(r.share)])));
    console.log(table(["self time by file", "ms", "share"], p.cpu.byFile.map((r) => [r.file, r.ms.toFixed(0), pct(r.share)])));
    const hs = p.heap;
    console.log(`\nHeap: ${int(hs.awake)} awake; ${int(p.heapPerActorGc)} B/actor by heapUsed after GC, ${int(hs.totalDiffBytes / hs.awake)} B/actor by snapshot self sizes`);
    console.log(table(["self size added per awake actor, by constructor / closure / kind", "bytes", "objects", "held by (new objects, by bytes)"], hs.perActorByGroup.map((r) => [r.group, r.bytesPerActor.toFixed(0), r.countPerActor.toFixed(2), r.heldBy])));
    console.log(table(["closures per awake actor, by file", "closures", "bytes"], hs.closuresByFile.map((r) => [r.file, r.closuresPerActor.toFixed(2), r.bytesPerActor.toFixed(0)])));
    console.log(`\nActorInstance retained size: ${int(hs.instanceRetained.meanBytes)} B mean over ${int(hs.instanceRetained.instances)} instances`);
    console.log(table(["inside an ActorInstance's retained tree", "bytes", "objects"], hs.instanceRetained.byGroup.map((r) => [r.group, r.bytesPerActor.toFixed(0), r.countPerActor.toFixed(2)])));
    console.log(table(["per-actor class", "instances", "mean retained", "mean self"], hs.classRetained.map((r) => [r.group, int(r.instances), int(r.meanRetained), int(r.meanSelf)])));
    if (args.has("json")) fs.writeFileSync(args.get("json")!, JSON.stringify(p, null, 2));
  } else {
    const f = await runScaleMillion({ count: scaleCount(args), trial: opt("trial"), warmup: opt("warmup"), awake: opt("awake"), runtime: args.get("runtime") as Runtime | undefined });
    console.log(table(["figure", "value", "target"], scaleMillionRows(f)));
    if (args.has("json")) fs.writeFileSync(args.get("json")!, JSON.stringify(f, null, 2));
  }
}
