import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The million-actor bench's harness, shared by its run (bench/scale-million.ts) and its profile
// (bench/scale-profile.ts): the scale server in its own process, a keep-alive HTTP pool, CPU from
// /proc, the create phase, and what waking measures with.

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = "bench/fixtures/scale-server.ts";
export const IN_FLIGHT = 100;

// ---- the server process ------------------------------------------------------------------

interface Timing {
  modulesLoadedMs: number;
  setupMs: number;
  registryStartMs: number;
  listenMs: number;
  processToListeningMs: number;
}

export interface Server {
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
export const BUILD_DIR = path.join(root, "node_modules/.cache/troupe-scale-build");
let serverEntry: string[] = [];

export function prepareServer(runtime: Runtime, log: (l: string) => void): void {
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

export async function startServer(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Server> {
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

export async function stopServer(s: Server): Promise<number> {
  const t = performance.now();
  s.child.kill("SIGTERM");
  const killer = setTimeout(() => s.child.kill("SIGKILL"), 120_000);
  await s.exited;
  clearTimeout(killer);
  return performance.now() - t;
}

// ---- HTTP with a keep-alive pool ---------------------------------------------------------

export class Http {
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

export const adminOf = (s: Server) => new Http(s.admin);

export interface Mem {
  live: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export async function memAfterGc(s: Server): Promise<Mem> {
  return adminOf(s).json<Mem>("GET", "/mem");
}

export async function live(s: Server): Promise<number> {
  return (await adminOf(s).json<{ live: number }>("GET", "/live")).live;
}

export async function waitAllAsleep(s: Server, timeoutMs: number): Promise<number> {
  const t = performance.now();
  for (;;) {
    if ((await live(s)) === 0) return performance.now() - t;
    if (performance.now() - t > timeoutMs) throw new Error(`actors still awake after ${timeoutMs} ms: ${await live(s)}`);
    await sleep(250);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export function loadAvg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(" ");
}

export function dirBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) n += fs.statSync(path.join(dir, f)).size;
  return n;
}

// ---- creating actors ---------------------------------------------------------------------

export type CreateForm = "put+action" | "getOrCreate";

export const keyOf = (i: number) => `k${i}`;

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
export async function pool(n: number, inFlight: number, fn: (i: number) => Promise<void>, onDone?: (done: number) => void): Promise<{ errors: number; firstErrors: string[] }> {
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

export async function createPhase(s: Server, form: CreateForm, n: number, log: (l: string) => void, warmupN = 0): Promise<CreateFigures> {
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

export const latency = (ms: number[]): Latency => ({ n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) });

export async function sequentialCalls(h: Http, ids: readonly string[], action: string): Promise<number[]> {
  const ms: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    const r = await h.request("POST", `/gateway/${id}/action/${action}`, { args: [] });
    ms.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`${action} ${id}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  return ms;
}

export function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Distinct random integers below n. */
export function sample(n: number, k: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(k, n)) picked.add(Math.floor(Math.random() * n));
  return [...picked];
}

export async function idsOf(h: Http, keys: readonly number[]): Promise<string[]> {
  const ids: string[] = new Array(keys.length);
  const r = await pool(keys.length, IN_FLIGHT, async (i) => {
    const { actors } = await h.json<{ actors: Array<{ actor_id: string }> }>("GET", `/actors?name=counter&key=${keyOf(keys[i]!)}`);
    if (!actors[0]) throw new Error(`no actor for ${keyOf(keys[i]!)}`);
    ids[i] = actors[0].actor_id;
  });
  if (r.errors > 0) throw new Error(`id lookups failed: ${r.firstErrors.join("; ")}`);
  return ids;
}

/** A whole number as the tables print it (1,000,000). */
export const int = (x: number) => Math.round(x).toLocaleString("en-US");
