import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";
import { type ReplayedRequest, replayer } from "./request-replay.js";
import { median, percentile } from "./stats.js";

// The RivetKit 2.3.19 client (from bench/peer) against a Troupe server, beside Troupe's own
// client against the same server in the same run (issue 13: within 10%); then the same rivetkit
// client against RivetKit 2.3.19's own server (bench/peer/rivetkit-client-server.mjs: engine,
// services and a runner process with the same counter actor). Sequential calls, so the figure is
// each client's per-call overhead on top of one commit, and, across servers, what each server
// adds for the same client. Every server runs in its own process.
const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, "peer/node_modules/rivetkit/dist/tsup/client/mod.js");
const RIVET_SERVER = path.join(here, "peer/rivetkit-client-server.mjs");
export const ENCODINGS = ["json", "cbor", "bare"] as const;

export interface Latency {
  p50: number;
  p99: number;
  n: number;
  /** CPU time of the bench's own process (the client's side) per timed call, in µs. */
  cpuUs: number;
}

export interface ClientFigures {
  /** Sequential stateless HTTP action by client on the Troupe server ("troupe", "rivetkit json", ...). */
  http: Record<string, Latency>;
  /** Sequential action over a connection by client on the Troupe server. */
  conn: Record<string, Latency>;
  /**
   * Each client's HTTP request (json) replayed byte for byte from a bare socket on the same
   * server ("troupe", "rivetkit"): the server's own cost of each, with no client's CPU in it.
   */
  replay: Record<string, Latency>;
  /** The rivetkit client on RivetKit's own server, by encoding; or why it was not measured. */
  rivetServer: { http: Record<string, Latency>; conn: Record<string, Latency>; startMs: number; shutdownMs?: number } | string;
}

// 1,000 calls per figure on Troupe (about 1 ms each). RivetKit's server answers in tens of ms,
// so it gets fewer (BENCH_RIVET_CALLS, default 200): its p99 is then the 2nd-slowest call.
const N = Number(process.env.BENCH_CLIENT_CALLS ?? 1000);
const N_RIVET = Number(process.env.BENCH_RIVET_CALLS ?? 200);
/** Calls over HTTP and over a connection (side by side) that warm Troupe's server before any is timed. */
const SERVER_WARMUP = Number(process.env.BENCH_CLIENT_SERVER_WARMUP ?? 2000);
/**
 * Untimed calls on every path before any is timed, the same number for each client, so that no
 * figure carries its client's JIT warm-up (with 100, the path timed first did).
 */
export const CLIENT_WARMUP = Number(process.env.BENCH_CLIENT_WARMUP ?? 1500);
/** Timed calls are taken in this many rounds, the paths in a rotating order, so drift hits each alike. */
export const ROUNDS = 5;

/** Warm-up calls that failed and were retried, with their messages (RivetKit's engine can time out the first route resolution on a busy machine). */
export const retried: string[] = [];

/**
 * A call that never settles (a client whose connection the peer's engine closed may leave it
 * pending) would let the process drain and exit 0 with no table: fail it loudly instead.
 */
function bounded(call: () => Promise<unknown>, ms = 30_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([call(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function warmUp(call: () => Promise<unknown>, warm: number): Promise<void> {
  for (let i = 0; i < warm; i++) {
    for (let attempt = 1; ; attempt++) {
      try {
        await bounded(call);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        retried.push((err as Error).message);
        console.error(`[client bench] warm-up call failed (attempt ${attempt}), retrying: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * Sequential calls on every path: each warmed by `warm` calls first, then `n` timed calls each,
 * taken in rounds with the paths in a rotating order.
 */
export async function timePaths(paths: Record<string, () => Promise<unknown>>, n: number, warm: number): Promise<Record<string, Latency>> {
  const names = Object.keys(paths);
  for (const name of names) await warmUp(paths[name]!, warm);
  const lat = new Map<string, number[]>(names.map((k) => [k, []]));
  const cpu = new Map<string, number>(names.map((k) => [k, 0]));
  const perRound = Math.ceil(n / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!;
      const call = paths[name]!;
      const into = lat.get(name)!;
      const c0 = process.cpuUsage();
      for (let i = 0; i < perRound && into.length < n; i++) {
        const t = performance.now();
        await bounded(call);
        into.push(performance.now() - t);
      }
      const c = process.cpuUsage(c0);
      cpu.set(name, cpu.get(name)! + c.user + c.system);
    }
  }
  const out: Record<string, Latency> = {};
  for (const [name, l] of lat) out[name] = { p50: median(l), p99: percentile(l, 99), n: l.length, cpuUs: cpu.get(name)! / l.length };
  return out;
}

type RivetCreateClient = (o: Record<string, unknown>) => any;

/** The rivetkit client's paths (`http ${label}json`, `conn ${label}json`, ...), per encoding, against `endpoint`. */
async function rivetClientPaths(rivetClient: RivetCreateClient, endpoint: string, prefix: string, label = "") {
  const paths: Record<string, () => Promise<unknown>> = {};
  const close: Array<() => Promise<unknown>> = [];
  for (const encoding of ENCODINGS) {
    const rk = rivetClient({ endpoint, encoding, disableMetadataLookup: true });
    const handle = rk.counter.getOrCreate([`${prefix}http-${encoding}`]);
    paths[`http ${label}${encoding}`] = () => handle.increment(1);
    const c = rk.counter.getOrCreate([`${prefix}conn-${encoding}`]).connect();
    paths[`conn ${label}${encoding}`] = () => c.increment(1);
    close.push(async () => {
      await c.dispose();
      await rk.dispose?.();
    });
  }
  return { paths, close: () => Promise.all(close.map((f) => f())) };
}

/** Splits `timePaths`' figures ("http json", "conn json", ...) by path. */
function byPath(figures: Record<string, Latency>) {
  const http: Record<string, Latency> = {};
  const conn: Record<string, Latency> = {};
  for (const [name, l] of Object.entries(figures)) {
    const [path, ...rest] = name.split(" ");
    const key = rest.join(" ");
    if (path === "http") http[key] = l;
    else if (path === "conn") conn[key] = l;
  }
  return { http, conn };
}

/** The two clients' HTTP requests for one json action, as each writes them (captured through a proxy). */
async function replayBoth(url: string, troupeActorId: string): Promise<Record<string, Latency>> {
  const host = new URL(url).host;
  const common = "accept: */*\r\naccept-language: *\r\nsec-fetch-mode: cors\r\n";
  const troupeReq: ReplayedRequest = {
    head: `POST /gateway/${troupeActorId}/action/increment HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\ncontent-type: application/json\r\nx-rivet-encoding: json\r\n${common}user-agent: node\r\naccept-encoding: gzip, deflate\r\n`,
    body: `{"args":[1]}`,
    chunked: false,
  };
  const rivetReq: ReplayedRequest = {
    head: `POST /gateway/counter/action/increment?rvt-namespace=default&rvt-method=getOrCreate&rvt-runner=default&rvt-key=http-json&rvt-crash-policy=sleep HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\ncontent-type: application/json\r\nuser-agent: RivetKit/2.3.19\r\nx-rivet-encoding: json\r\n${common}accept-encoding: gzip, deflate\r\n`,
    body: `{"args":[1]}`,
    chunked: true,
  };
  const a = await replayer(url);
  const b = await replayer(url);
  try {
    return await timePaths({ troupe: () => a.call(troupeReq), rivetkit: () => b.call(rivetReq) }, N, CLIENT_WARMUP);
  } finally {
    a.close();
    b.close();
  }
}

interface RivetServer {
  url: string;
  startMs: number;
  enginePids: number[];
  /** Closes the child's stdin (its signal to shut down) and waits for its report. */
  stop: () => Promise<{ shutdownMs?: number; left: number[] }>;
}

/** Starts bench/peer/rivetkit-client-server.mjs in its own process (imports resolve from bench/peer). */
async function startRivetServer(): Promise<RivetServer> {
  const env = { ...process.env };
  delete env.RUST_BACKTRACE; // slows the engine about 5x
  const child = spawn(process.execPath, [RIVET_SERVER], { cwd: path.dirname(RIVET_SERVER), env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  let buf = "";
  child.stdout!.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      // RivetKit prints a banner on stdout too; the script's own lines are JSON objects.
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        continue;
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  void exited.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  let done = false;
  void exited.then(() => (done = true));
  const next = async (key: string, ms: number): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = lines.find((l) => key in l || "error" in l);
      if (hit) return hit;
      if (done) throw new Error(`rivetkit server exited before reporting ${key}: ${stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`rivetkit server gave no ${key} in ${ms} ms: ${stderr.slice(-2000)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 1000).unref();
      });
    }
  };
  const ready = await next("url", 270_000).catch(async (err: unknown) => {
    child.stdin!.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 90_000))]);
    throw err;
  });
  if ("error" in ready) {
    await exited;
    throw new Error(`rivetkit server failed: ${String(ready.error)}`);
  }
  const enginePids = (ready.enginePids as number[]) ?? [];
  return {
    url: ready.url as string,
    startMs: ready.startMs as number,
    enginePids,
    stop: async () => {
      child.stdin!.end();
      const report: Record<string, unknown> = await next("stopped", 90_000).catch(() => ({ left: [] }));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      // Belt and braces: the engine and services processes it reported, by PID.
      for (const pid of enginePids) {
        try {
          process.kill(pid, 0);
        } catch {
          continue;
        }
        console.error(`[client bench] rivetkit engine process ${pid} outlived its server; killing it`);
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      if (child.exitCode === null) child.kill("SIGKILL");
      return { shutdownMs: report.shutdownMs as number | undefined, left: (report.left as number[]) ?? [] };
    },
  };
}

export async function runClientBench(): Promise<ClientFigures | string> {
  if (!fs.existsSync(PEER)) return "rivetkit is not installed in bench/peer (run `sh bench/peer/setup.sh`)";
  const { createClient: rivetClient } = (await import(pathToFileURL(PEER).href)) as { createClient: RivetCreateClient };
  const out: ClientFigures = { http: {}, conn: {}, replay: {}, rivetServer: "not run" };

  // Troupe's bench server listens on an ephemeral port (port 0), never on 6420, which RivetKit's
  // engine takes below; the two servers never run at the same time either.
  const server = await startChild("bench/fixtures/bench-server.ts", { BENCH_DURABILITY: "full" }, 30_000);
  try {
    const troupe = createClient(server.url) as any;
    // The server warms up first, on actors of its own: whichever client went first would
    // otherwise pay its JIT warm-up (a fresh server's first thousands of calls are slower).
    const warmHandle = troupe.counter.getOrCreate(["warm-up"]);
    const warmConn = warmHandle.connect();
    for (let i = 0; i < SERVER_WARMUP; i++) await Promise.all([warmHandle.increment(1), warmConn.increment(1)]);
    await warmConn.dispose();
    const tconn = troupe.counter.getOrCreate(["conn-troupe"]).connect();
    const rk = await rivetClientPaths(rivetClient, server.url, "", "rivetkit ");
    const figures = await timePaths({ "http troupe": () => troupe.counter.getOrCreate(["http-troupe"]).increment(1), "conn troupe": () => tconn.increment(1), ...rk.paths }, N, CLIENT_WARMUP);
    await tconn.dispose();
    await rk.close();
    const split = byPath(figures);
    out.http = split.http;
    out.conn = split.conn;
    out.replay = await replayBoth(server.url, await troupe.counter.getOrCreate(["http-troupe"]).resolve());
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }

  if (process.env.BENCH_SKIP_RIVET_SERVER === "1") {
    out.rivetServer = "skipped (BENCH_SKIP_RIVET_SERVER=1)";
    return out;
  }
  let rs: RivetServer | undefined;
  try {
    rs = await startRivetServer();
    const rk = await rivetClientPaths(rivetClient, rs.url, `rk-${Date.now()}-`);
    const figures = await timePaths(rk.paths, N_RIVET, 20);
    await rk.close();
    out.rivetServer = { ...byPath(figures), startMs: rs.startMs };
  } catch (err) {
    out.rivetServer = `RivetKit's server run failed: ${(err as Error).message}`;
  } finally {
    if (rs) {
      const stopped = await rs.stop();
      if (typeof out.rivetServer !== "string" && stopped.shutdownMs !== undefined) out.rivetServer.shutdownMs = stopped.shutdownMs;
      if (stopped.left.length > 0) console.error(`[client bench] still listening on 6420/8642 after RivetKit's shutdown: ${stopped.left.join(" ")}`);
    }
  }
  return out;
}
