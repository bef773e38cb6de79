import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "../src/client/index.js";
import { startChild } from "../test/helpers/child-server.js";
import { median, percentile } from "./stats.js";

// The RivetKit 2.3.19 client (from bench/peer) against a Troupe server, beside Troupe's own
// client against the same server in the same run (issue 13: within 10%). Sequential calls, so
// the figure is each client's per-call overhead on top of one durable commit.
const PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "peer/node_modules/rivetkit/dist/tsup/client/mod.js");

export interface ClientFigures {
  /** Sequential stateless HTTP action, p50 and p99 (ms), by client. */
  http: Record<string, { p50: number; p99: number }>;
  /** Sequential action over a connection, p50 and p99 (ms), by client. */
  conn: Record<string, { p50: number; p99: number }>;
}

const N = 1000;

async function timeCalls(call: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 100; i++) await call();
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await call();
    lat.push(performance.now() - t);
  }
  return { p50: median(lat), p99: percentile(lat, 99) };
}

export async function runClientBench(): Promise<ClientFigures | string> {
  if (!fs.existsSync(PEER)) return "rivetkit is not installed in bench/peer (run `sh bench/peer/setup.sh`)";
  const { createClient: rivetClient } = (await import(pathToFileURL(PEER).href)) as { createClient: (o: Record<string, unknown>) => any };
  const server = await startChild("bench/fixtures/bench-server.ts", { BENCH_DURABILITY: "full" }, 30_000);
  const out: ClientFigures = { http: {}, conn: {} };
  try {
    const troupe = createClient(server.url) as any;
    out.http.troupe = await timeCalls(() => troupe.counter.getOrCreate(["http-troupe"]).increment(1));
    const tconn = troupe.counter.getOrCreate(["conn-troupe"]).connect();
    out.conn.troupe = await timeCalls(() => tconn.increment(1));
    await tconn.dispose();
    for (const encoding of ["json", "cbor", "bare"]) {
      const rk = rivetClient({ endpoint: server.url, encoding, disableMetadataLookup: true });
      const handle = rk.counter.getOrCreate([`http-${encoding}`]);
      out.http[`rivetkit ${encoding}`] = await timeCalls(() => handle.increment(1));
      const conn = rk.counter.getOrCreate([`conn-${encoding}`]).connect();
      out.conn[`rivetkit ${encoding}`] = await timeCalls(() => conn.increment(1));
      await conn.dispose();
      await rk.dispose?.();
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
  return out;
}
