import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { tempDir } from "./helpers/harness.js";

// Bounded load on loopback: 200 concurrent callers (100 WebSocket connections, 100 stateless HTTP
// callers) for TROUPE_LOAD_SECONDS (default 2) per scenario, at 1, 10 and 1,000 actors, while a
// prober measures /health. Figures go to docs/RELIABILITY.md; `npm run stress` runs longer.
const SECONDS = Number(process.env.TROUPE_LOAD_SECONDS ?? 2);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

test("200 concurrent callers at 1, 10 and 1,000 actors: no errors, /health stays responsive", { timeout: 300_000 }, async () => {
  let server: ChildServer | undefined;
  const rows: string[] = [];
  try {
    server = await startChild("test/fixtures/e2e-server.ts", { TROUPE_DATA_DIR: tempDir() });
    const url = server.url;
    for (const actors of [1, 10, 1000]) {
      const client = createClient<any>(url) as any;
      const conns = Array.from({ length: 100 }, (_, i) => client.counter.getOrCreate([`load-${actors}-${i % actors}`]).connect());
      await Promise.all(conns.map((c) => c.ready()));
      const latencies: number[] = [];
      const health: number[] = [];
      let errors = 0;
      const deadline = performance.now() + SECONDS * 1000;
      const timed = async (fn: () => Promise<unknown>) => {
        const t = performance.now();
        try {
          await fn();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      };
      const ws = conns.map(async (c) => {
        while (performance.now() < deadline) await timed(() => c.increment(1));
      });
      const http = Array.from({ length: 100 }, async (_, i) => {
        let n = i;
        while (performance.now() < deadline) await timed(() => client.counter.getOrCreate([`load-${actors}-${n++ % actors}`]).increment(1));
      });
      const prober = (async () => {
        while (performance.now() < deadline) {
          const t = performance.now();
          const r = await fetch(`${url}/health`);
          await r.arrayBuffer();
          health.push(performance.now() - t);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      await Promise.all([...ws, ...http, prober]);
      await Promise.all(conns.map((c) => c.dispose()));
      const rate = latencies.length / SECONDS;
      rows.push(`| ${actors} | ${latencies.length} | ${rate.toFixed(0)}/s | ${pct(latencies, 50).toFixed(2)} | ${pct(latencies, 99).toFixed(2)} | ${pct(latencies, 99.9).toFixed(2)} | ${pct(health, 99).toFixed(2)} | ${errors} |`);
      assert.equal(errors, 0, `${actors} actors: calls failed under load`);
      assert.ok(latencies.length > 200, `${actors} actors: the server made progress`);
      assert.ok(pct(health, 99) < 1000, `${actors} actors: /health p99 ${pct(health, 99)} ms`);
    }
    console.log(["load (ms):", "| actors | calls | throughput | p50 | p99 | p99.9 | /health p99 | errors |", ...rows].join("\n"));
  } finally {
    server?.child.kill("SIGTERM");
    await server?.exited;
  }
});
