import { createRequire } from "node:module";
import type { EventEmitter } from "node:events";
import { startChild, type ChildServer } from "../test/helpers/child-server.js";
import { percentile } from "./stats.js";

// Issue 14: HTTP throughput and latency under load, Troupe against a bare `node:http` handler and
// Hono on @hono/node-server. autocannon drives one server at a time from this process; each
// server runs in its own child process, so the load generator never shares the server's thread
// (on 2 cores: one for the server, one for autocannon). Troupe runs bench/fixtures/bench-server.ts
// with durable commits (SQLite, synchronous=FULL): every 200 waited for an fsync.

const require = createRequire(import.meta.url);

interface Histogram {
  average: number;
  p50: number;
  p99: number;
}
interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonClient {
  setRequests(requests: AutocannonRequest[]): void;
}
interface AutocannonOptions extends AutocannonRequest {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  requests?: AutocannonRequest[];
  setupClient?: (client: AutocannonClient) => void;
}
type Autocannon = (opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void) => EventEmitter;

export interface LoadFigures {
  name: string;
  /** Mean requests per second (autocannon's per-second samples). */
  rps: number;
  /** Latency of 2xx responses, ms, from autocannon's per-request timings (sub-millisecond). */
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** The first response, for the record (a 2xx with the expected body, or why not). */
  probe: string;
  /** requests/s of each round, when figures are medians of several. */
  rounds?: number[];
}

export interface HttpLoadOptions {
  durationSec: number;
  warmupSec: number;
  connections: number;
  actors: number;
}

const JSON_HEADERS = { "content-type": "application/json" };
const ACTION_BODY = JSON.stringify({ args: [1] });

async function fire(opts: AutocannonOptions): Promise<{ result: AutocannonResult; latencies: number[] }> {
  const autocannon = require("autocannon") as Autocannon;
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve({ result, latencies })));
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

interface Target {
  name: string;
  base: AutocannonRequest;
  /** One request list per connection (rotated), for spreading over many actors. */
  spread?: AutocannonRequest[];
}

async function load(url: string, target: Target, o: HttpLoadOptions): Promise<LoadFigures> {
  const first = target.spread?.[0] ?? target.base;
  const res = await fetch(url + first.path, { method: first.method ?? "GET", headers: first.headers, body: first.body });
  const probe = `${res.status} ${(await res.text()).slice(0, 120)}`;
  let next = 0;
  const spread = target.spread;
  // autocannon takes the path from `url` (a top-level `path` is ignored), and from each entry
  // of `requests`.
  const { path, ...base } = target.base;
  const opts = (duration: number): AutocannonOptions => ({
    url: url + (path ?? "/"),
    connections: o.connections,
    duration,
    pipelining: 1,
    ...base,
    ...(spread
      ? {
          requests: spread,
          // Each connection starts at its own actor, so the 50 connections are spread over the
          // actors from the first request on instead of walking them in step.
          setupClient: (client: AutocannonClient) => {
            const k = (next++ * Math.ceil(spread.length / o.connections)) % spread.length;
            client.setRequests([...spread.slice(k), ...spread.slice(0, k)]);
          },
        }
      : {}),
  });
  if (o.warmupSec > 0) await fire(opts(o.warmupSec));
  next = 0;
  const { result, latencies } = await fire(opts(o.durationSec));
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(s.count);
  return {
    name: target.name,
    rps: result.requests.average,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    total: Object.values(statusCodes).reduce((a, b) => a + b, 0),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    probe,
  };
}

async function withServer<T>(script: string, env: Record<string, string>, fn: (server: ChildServer) => Promise<T>): Promise<T> {
  const server = await startChild(script, env, 30_000);
  try {
    return await fn(server);
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
}

/** Creates `n` counter actors through the management API and returns their ids. */
async function createActors(url: string, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/actors`, { method: "PUT", headers: JSON_HEADERS, body: JSON.stringify({ name: "counter", key: `${prefix}-${i}` }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`PUT /actors answered ${res.status}: ${text}`);
    const id = (JSON.parse(text) as { actor?: { actor_id?: string } }).actor?.actor_id;
    if (!id) throw new Error(`PUT /actors gave no actor id: ${text}`);
    ids.push(id);
  }
  return ids;
}

/** A stateless action as both clients send it (json is the default encoding); the baselines serve the same path. */
const action = (id: string): AutocannonRequest => ({ method: "POST", path: `/gateway/${id}/action/increment`, headers: JSON_HEADERS, body: ACTION_BODY });

/** Medians across rounds, figure by figure; failure counts are summed. */
export function combineRounds(rounds: LoadFigures[][]): LoadFigures[] {
  const med = (xs: number[]) => percentile(xs, 50);
  return rounds[0]!.map((first, i) => {
    const all = rounds.map((r) => r[i]!);
    const statusCodes: Record<string, number> = {};
    for (const r of all) for (const [k, v] of Object.entries(r.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
    const sum = (k: "total" | "non2xx" | "errors" | "timeouts") => all.reduce((a, r) => a + r[k], 0);
    return {
      name: first.name,
      rps: med(all.map((r) => r.rps)),
      p50: med(all.map((r) => r.p50)),
      p99: med(all.map((r) => r.p99)),
      total: sum("total"),
      non2xx: sum("non2xx"),
      errors: sum("errors"),
      timeouts: sum("timeouts"),
      statusCodes,
      probe: first.probe,
      rounds: all.map((r) => r.rps),
    };
  });
}

/** Runs every target, one server process at a time. */
export async function runHttpLoad(o: HttpLoadOptions, log: (line: string) => void = () => {}): Promise<LoadFigures[]> {
  const out: LoadFigures[] = [];
  const run = async (script: string, env: Record<string, string>, makeTarget: (url: string) => Promise<Target>) => {
    await withServer(script, env, async (server) => {
      const target = await makeTarget(server.url);
      log(`  ${target.name}...`);
      out.push(await load(server.url, target, o));
    });
  };
  const troupe = "bench/fixtures/bench-server.ts";
  const durable = { BENCH_DURABILITY: "full" };

  await run("bench/fixtures/node-http-baseline.ts", {}, async () => ({ name: "node:http (JSON in, JSON out)", base: action("x") }));
  await run("bench/fixtures/hono-baseline.ts", {}, async () => ({ name: "hono (JSON in, JSON out)", base: action("x") }));
  const troupeAction = (actors: number, env: Record<string, string>, label = "") =>
    run(troupe, env, async (url) => {
      const ids = await createActors(url, actors, "load");
      return { name: `troupe action, ${actors} actor${actors === 1 ? "" : "s"}${label}`, base: action(ids[0]!), ...(actors > 1 ? { spread: ids.map(action) } : {}) };
    });
  await troupeAction(1, durable);
  await troupeAction(o.actors, durable);
  // Not one of issue 14's targets: the same action without an fsync per commit, to tell how much
  // of the gap to Hono is the disk.
  await troupeAction(1, { BENCH_DURABILITY: "process" }, ", durability process (no fsync; for reference)");
  await run(troupe, durable, async () => ({ name: "troupe GET /health", base: { method: "GET", path: "/health" } }));
  return out;
}
