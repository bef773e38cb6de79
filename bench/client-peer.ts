import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";
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
}

export interface ClientFigures {
  /** Sequential stateless HTTP action by client on the Troupe server ("troupe", "rivetkit json", ...). */
  http: Record<string, Latency>;
  /** Sequential action over a connection by client on the Troupe server. */
  conn: Record<string, Latency>;
  /** The rivetkit client on RivetKit's own server, by encoding; or why it was not measured. */
  rivetServer: { http: Record<string, Latency>; conn: Record<string, Latency>; startMs: number; shutdownMs?: number } | string;
}

// 1,000 calls per figure on Troupe (about 1 ms each). RivetKit's server answers in tens of ms,
// so it gets fewer (BENCH_RIVET_CALLS, default 200): its p99 is then the 2nd-slowest call.
const N = Number(process.env.BENCH_CLIENT_CALLS ?? 1000);
const N_RIVET = Number(process.env.BENCH_RIVET_CALLS ?? 200);
/** Calls over HTTP and over a connection (side by side) that warm Troupe's server before any is timed. */
const SERVER_WARMUP = Number(process.env.BENCH_CLIENT_SERVER_WARMUP ?? 2000);

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

async function timeCalls(call: () => Promise<unknown>, n = N, warm = 100): Promise<Latency> {
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
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await bounded(call);
    lat.push(performance.now() - t);
  }
  return { p50: median(lat), p99: percentile(lat, 99), n };
}

type RivetCreateClient = (o: Record<string, unknown>) => any;

/** The rivetkit client's two paths, per encoding, against `endpoint`. */
async function rivetClientRuns(rivetClient: RivetCreateClient, endpoint: string, prefix: string, n: number, warm: number) {
  const http: Record<string, Latency> = {};
  const conn: Record<string, Latency> = {};
  for (const encoding of ENCODINGS) {
    const rk = rivetClient({ endpoint, encoding, disableMetadataLookup: true });
    const handle = rk.counter.getOrCreate([`${prefix}http-${encoding}`]);
    http[encoding] = await timeCalls(() => handle.increment(1), n, warm);
    const c = rk.counter.getOrCreate([`${prefix}conn-${encoding}`]).connect();
    conn[encoding] = await timeCalls(() => c.increment(1), n, warm);
    await c.dispose();
    await rk.dispose?.();
  }
  return { http, conn };
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
  const out: ClientFigures = { http: {}, conn: {}, rivetServer: "not run" };

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
    out.http.troupe = await timeCalls(() => troupe.counter.getOrCreate(["http-troupe"]).increment(1));
    const tconn = troupe.counter.getOrCreate(["conn-troupe"]).connect();
    out.conn.troupe = await timeCalls(() => tconn.increment(1));
    await tconn.dispose();
    const rk = await rivetClientRuns(rivetClient, server.url, "", N, 100);
    for (const e of ENCODINGS) {
      out.http[`rivetkit ${e}`] = rk.http[e]!;
      out.conn[`rivetkit ${e}`] = rk.conn[e]!;
    }
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
    const rk = await rivetClientRuns(rivetClient, rs.url, `rk-${Date.now()}-`, N_RIVET, 20);
    out.rivetServer = { ...rk, startMs: rs.startMs };
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
