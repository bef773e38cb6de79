import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { createClient } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { gaugesAtZero, negativeSeries, parseSamples } from "./helpers/exposition.js";
import { sleep, tempDir, waitFor } from "./helpers/harness.js";

// Mixed traffic while actors sleep and wake constantly (200 ms idle timeout), bounded by
// TROUPE_SOAK_SECONDS (default 10; `npm run stress` runs 600). Memory, series and file
// descriptors must stay flat, and the gauges must return to zero when traffic stops.
const SECONDS = Number(process.env.TROUPE_SOAK_SECONDS ?? 10);
const TOKEN = "soak-token";
// Gauges that must read 0 once traffic stops, on every series. The fixture server's types define
// no onWebSocket, so troupe_actor_websockets_active has no series there: checked only if it has.
const ZERO_GAUGES = ["troupe_actors_active", "troupe_actor_connections_active", "troupe_actor_inbox_depth", "troupe_actor_queue_depth"];
const ZERO_GAUGES_IF_PRESENT = ["troupe_actor_websockets_active"];

function procStats(pid: number) {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  return { rss, fds };
}

test(`soak: ${SECONDS} s of mixed traffic with constant sleep and wake`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  let server: ChildServer | undefined;
  try {
    server = await startChild("test/fixtures/e2e-server.ts", { TROUPE_DATA_DIR: tempDir(), TROUPE_SLEEP_TIMEOUT_MS: "200", TROUPE_METRICS_TOKEN: TOKEN });
    const pid = server.child.pid!;
    const url = server.url;
    const scrape = async () => parseSamples(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
    const client = createClient<any>(url) as any;
    const samples: Array<{ t: number; rss: number; heap: number; series: number }> = [];
    const negatives: string[] = [];
    let calls = 0;
    const traffic = (seconds: number) => {
      const until = performance.now() + seconds * 1000;
      return Array.from({ length: 8 }, async (_, w) => {
        let i = 0;
        while (performance.now() < until) {
          i++;
          const key = `soak-${w}-${i % 50}`;
          const r = i % 10;
          if (r < 6) await client.counter.getOrCreate([key]).increment(1);
          else if (r < 8) {
            const c = client.chatRoom.getOrCreate([key]).connect({ params: { username: `u${w}` } });
            await c.post("hi");
            await c.dispose();
          } else await client.jobBoard.getOrCreate([`board-${w}`]).send("jobs", { text: `job ${i}` }, { wait: true });
          calls++;
          if (i % 25 === 0) await sleep(250); // let some actors sleep between bursts
        }
      });
    };
    // Everything asleep: the gauges read zero on every series (and the descriptors can be compared).
    const atRest = async () => {
      let atZero = { ok: false, problems: ["never scraped"] };
      await waitFor(async () => {
        const s = await scrape();
        negatives.push(...negativeSeries(s, [...ZERO_GAUGES, ...ZERO_GAUGES_IF_PRESENT]));
        atZero = gaugesAtZero(s, ZERO_GAUGES, ZERO_GAUGES_IF_PRESENT);
        return atZero.ok;
      }, 10_000, "gauges back to zero").catch(() => {});
      assert.ok(atZero.ok, `gauges not back to zero 10 s after traffic stopped: ${atZero.problems.join("; ")}`);
      return procStats(pid).fds;
    };
    // A warm-up opens the client's keep-alive sockets and the store's files; at rest after it, the
    // descriptor count is the baseline. Counts taken during traffic depend on how many actors are awake.
    await Promise.all(traffic(Math.min(2, SECONDS / 5)));
    const fdsBefore = await atRest();
    const deadline = performance.now() + SECONDS * 1000;
    const workers = traffic(SECONDS);
    const sampler = (async () => {
      while (performance.now() < deadline) {
        const s = await scrape();
        negatives.push(...negativeSeries(s, [...ZERO_GAUGES, ...ZERO_GAUGES_IF_PRESENT]));
        const p = procStats(pid);
        samples.push({ t: performance.now(), rss: p.rss, heap: s.find((x) => x.name === "nodejs_heap_size_used_bytes")!.value, series: s.length });
        await sleep(Math.max(500, (SECONDS * 1000) / 20));
      }
    })();
    await Promise.all([...workers, sampler]);

    // Traffic stopped: everything sleeps and every series of the gauges reads zero.
    const fdsAfter = await atRest();
    assert.deepEqual(negatives, [], "no gauge series went negative at any scrape");

    const warm = samples[Math.min(2, samples.length - 1)]!;
    const last = samples.at(-1)!;
    const summary = `soak: ${SECONDS} s, ${calls} operations, rss ${(warm.rss / 2 ** 20).toFixed(0)} -> ${(last.rss / 2 ** 20).toFixed(0)} MB, heap ${(warm.heap / 2 ** 20).toFixed(0)} -> ${(last.heap / 2 ** 20).toFixed(0)} MB, fds at rest ${fdsBefore} -> ${fdsAfter}, sample lines ${warm.series} -> ${last.series}`;
    console.log(summary);
    // The trajectory, so a slow climb shows even when the endpoints are within bounds.
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(`soak trajectory (s: rss/heap MB): ${samples.map((x) => `${((x.t - samples[0]!.t) / 1000).toFixed(0)}: ${mb(x.rss)}/${mb(x.heap)}`).join(", ")}`);
    assert.ok(calls > 50, "the soak made progress");
    assert.ok(last.rss - warm.rss < 96 * 2 ** 20, `RSS grew: ${summary}`);
    assert.ok(last.heap - warm.heap < 64 * 2 ** 20, `heap grew: ${summary}`);
    // Every wake opens SQL files and every connection a socket: a leak would grow with the thousands of them.
    assert.ok(fdsAfter - fdsBefore <= 4, `file descriptors grew at rest: ${summary}`);
    assert.equal(last.series, warm.series, `series count moved: ${summary}`);
  } finally {
    server?.child.kill("SIGTERM");
    await server?.exited;
  }
});
