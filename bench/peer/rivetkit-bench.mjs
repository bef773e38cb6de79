// Measures RivetKit 2.3.19 on this machine with the same workload as bench/runtime.ts.
// `node bench/peer/rivetkit-bench.mjs [--json]`: logs go to stderr; with --json the last
// stdout line is { peer, figures }. It always shuts RivetKit down and kills the engine it
// started, even on failure, because an orphaned services process breaks every later start.
import { counterActor } from "./counter.mjs";
import { pidsOnPorts } from "./engine-ports.mjs";

delete process.env.RUST_BACKTRACE; // slows the engine about 5x
const json = process.argv.includes("--json");
const log = (...a) => console.error("[rivetkit-bench]", ...a);


function killEngine() {
  for (const pid of pidsOnPorts()) {
    try {
      process.kill(pid, "SIGKILL");
      log("killed leftover process", pid);
    } catch {}
  }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs) => pct(xs, 50);
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);

async function main() {
  if (pidsOnPorts().length > 0) {
    log("ports 6420/8642 are busy before starting; cleaning up");
    killEngine();
  }
  const { actor, setup } = await import("rivetkit");
  const { createClient } = await import("rivetkit/client");
  const counter = counterActor(actor);
  const registry = setup({ use: { counter } });
  const figures = {};
  try {
    log("starting RivetKit (engine and services)...");
    await withTimeout(registry.startAndWait(), 120_000, "startAndWait");
    const client = createClient("http://127.0.0.1:6420");

    // Sequential over a connection.
    const conn = client.counter.getOrCreate(["seq"]).connect();
    for (let i = 0; i < 20; i++) await withTimeout(conn.increment(1), 30_000, "warm-up");
    const seq = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await withTimeout(conn.increment(1), 30_000, "sequential");
      seq.push(performance.now() - t);
    }
    figures.seqConnP50Ms = median(seq);
    figures.seqConnP99Ms = pct(seq, 99);
    log("sequential p50", figures.seqConnP50Ms.toFixed(2), "ms");

    // 1,000 concurrent on one connection.
    const bursts = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await withTimeout(Promise.all(Array.from({ length: 1000 }, () => conn.increment(1))), 120_000, "burst");
      bursts.push(performance.now() - t);
    }
    figures.concurrent1000Ms = median(bursts);
    log("1,000 concurrent", figures.concurrent1000Ms.toFixed(0), "ms");
    await conn.dispose?.();

    // Stateless.
    const handle = client.counter.getOrCreate(["http"]);
    for (let i = 0; i < 10; i++) await withTimeout(handle.increment(1), 30_000, "warm-up");
    const http = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      await withTimeout(handle.increment(1), 30_000, "stateless");
      http.push(performance.now() - t);
    }
    figures.httpP50Ms = median(http);
    figures.httpP99Ms = pct(http, 99);
    log("stateless p50", figures.httpP50Ms.toFixed(2), "ms");

    // 50 new actors, 10 in flight.
    let next = 0;
    let failures = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 50) {
          const i = next++;
          try {
            await withTimeout(client.counter.getOrCreate([`new-${Date.now()}-${i}`]).increment(1), 60_000, "create");
          } catch (err) {
            failures++;
            log("create failed:", err?.message ?? err);
          }
        }
      }),
    );
    figures.create50Ms = performance.now() - t;
    figures.create50Failures = failures;
    log("50 actors created in", figures.create50Ms.toFixed(0), "ms");
  } finally {
    log("shutting down");
    await withTimeout(registry.shutdown(), 60_000, "shutdown").catch((err) => log("shutdown:", err.message));
    killEngine();
    const left = pidsOnPorts();
    if (left.length > 0) log("still listening after cleanup:", left.join(" "));
  }
  return figures;
}

const hardStop = setTimeout(() => {
  log("global time limit reached; cleaning up");
  killEngine();
  process.exit(2);
}, 8 * 60_000);
try {
  const figures = await main();
  clearTimeout(hardStop);
  if (json) process.stdout.write(`${JSON.stringify({ peer: "rivetkit@2.3.19", figures })}\n`);
  else console.table(figures);
  process.exit(0);
} catch (err) {
  log("failed:", err?.stack ?? err);
  killEngine();
  process.exit(1);
}
