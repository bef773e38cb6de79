import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Counter as PromCounter, Registry as PromRegistry } from "prom-client";
import { actor, setup, UserError } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { parseSamples, sampleValue, sumValues, type Sample } from "./helpers/exposition.js";
import { GatedStore } from "./helpers/gated-store.js";
import { promtoolCheckMetrics } from "./helpers/promtool.js";
import { quietLogger, sleep, startServer, waitFor } from "./helpers/harness.js";
import { WireConn } from "./helpers/wire.js";

const TOKEN = "runtime-metrics-test-token";

const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => {
      c.state.count += by;
      return c.state.count;
    },
    read: (c) => c.state.count,
    reject: () => {
      throw new UserError("no", { code: "nope" });
    },
    explode: () => {
      throw new Error("boom");
    },
    hang: async (_c, ms: number) => {
      await sleep(ms);
      return "late";
    },
    slowAdd: async (c, ms: number) => {
      await sleep(ms);
      c.state.count += 1;
      return c.state.count;
    },
    nap: (c) => c.sleep(),
    destroy: (c) => c.destroy(),
  },
  options: { sleepTimeoutMs: 60_000, actionTimeoutMs: 200 },
});

const other = actor({ state: {}, actions: { ping: () => "pong" } });

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  return parseSamples(await res.text());
}

const C = { actor_name: "counter" };

describe("core runtime metrics against ground truth", () => {
  test("actions, outcomes, durations, starts, stops, connections, commits, state bytes", async () => {
    const store = new GatedStore();
    const h = await startServer({ use: { counter, other }, storage: store, metrics: { token: TOKEN } });
    try {
      const a = h.client.counter.getOrCreate(["a"]);
      for (let i = 0; i < 5; i++) await a.increment(1);
      await a.read();
      await assert.rejects(a.reject());
      await assert.rejects(a.reject());
      await assert.rejects(a.explode());
      await assert.rejects(a.hang(1000), (e: ActorError) => e.code === "action_timed_out");
      await h.client.counter.getOrCreate(["b"]).increment(1);
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_stops_total", { ...C, reason: "crash" }) === 1, 3000, "crash stop");

      let s = await scrape(h.url);
      const calls = (action: string, outcome: string) => sampleValue(s, "troupe_actor_action_calls_total", { ...C, action, outcome });
      assert.equal(calls("increment", "ok"), 6);
      assert.equal(calls("read", "ok"), 1);
      assert.equal(calls("reject", "user_error"), 2);
      assert.equal(calls("explode", "error"), 1);
      assert.equal(calls("hang", "timeout"), 1);
      assert.equal(calls("increment", "error"), 0);
      assert.equal(sampleValue(s, "troupe_actor_action_duration_seconds_count", { ...C, action: "increment" }), 6);
      // A timed-out call is timed until it was abandoned, so timeouts show in the latency.
      assert.equal(sampleValue(s, "troupe_actor_action_duration_seconds_count", { ...C, action: "hang" }), 1);
      assert.ok(sampleValue(s, "troupe_actor_action_duration_seconds_sum", { ...C, action: "hang" }) >= 0.19);
      // a was created, crashed on the timeout and woke again for the next call only if called; b was created.
      assert.equal(sampleValue(s, "troupe_actor_starts_total", { ...C, kind: "create" }), 2);
      assert.equal(sampleValue(s, "troupe_actor_start_duration_seconds_count", C), 2, "two starts, both creates");
      assert.equal(sampleValue(s, "troupe_actors_active", C), 1, "b is live, a crashed");
      // Commits: each actor's first turn commits its first state (2), a's 5 awaited increments commit
      // one by one, b's 1; rolled-back and timed-out calls commit nothing.
      // Each state is CBOR {count: n} with n < 24: 8 bytes.
      assert.equal(sampleValue(s, "troupe_actor_state_commits_total", C), 8);
      assert.equal(sampleValue(s, "troupe_actor_state_commit_duration_seconds_count", C), 8);
      assert.equal(sampleValue(s, "troupe_actor_state_bytes_count", C), 8);
      assert.equal(sampleValue(s, "troupe_actor_state_bytes_sum", C), 64);
      assert.equal(sampleValue(s, "troupe_actor_state_bytes_bucket", { ...C, le: "64" }), 8);

      // Wake after the crash.
      assert.equal(await a.read(), 5);
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_starts_total", { ...C, kind: "wake" }), 1);

      // Connections.
      const c1 = a.connect();
      const c2 = a.connect();
      await Promise.all([c1.ready(), c2.ready()]);
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_connections_active", C), 2);
      assert.equal(sampleValue(s, "troupe_actor_connections_opened_total", C), 2);
      await c1.dispose();
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_connections_active", C) === 1, 2000, "one closed");
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_connections_closed_total", { ...C, reason: "client_closed" }), 1);

      // Inbox depth: one running, two waiting.
      const busy = h.client.counter.getOrCreate(["busy"]);
      await busy.read();
      const pending = [busy.slowAdd(150), busy.slowAdd(1), busy.slowAdd(1)];
      await sleep(60);
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_inbox_depth", C), 2);
      await Promise.all(pending);
      assert.equal(sampleValue(await scrape(h.url), "troupe_actor_inbox_depth", C), 0);

      // Sleep: stops{sleep}, and the active gauge follows.
      const before = sampleValue(await scrape(h.url), "troupe_actors_active", C);
      await busy.nap();
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_stops_total", { ...C, reason: "sleep" }) === 1, 2000, "sleep stop");
      assert.equal(sampleValue(await scrape(h.url), "troupe_actors_active", C), before - 1);
      await c2.dispose();

      // A malformed frame closes with reason "error".
      const actorId = await a.resolve();
      const raw = new WireConn(h.url, actorId);
      await raw.ready();
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_connections_opened_total", C) === 3, 2000, "raw admitted");
      raw.ws.send("{broken");
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_connections_closed_total", { ...C, reason: "error" }) === 1, 2000, "error close");
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_connections_active", C), 0);
      assert.equal(sumValues(s, "troupe_actor_connections_closed_total", C), 3, "opened - closed = active");

      // The other type is counted apart, and its series exist from registration.
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_action_calls_total", { actor_name: "other", action: "ping", outcome: "ok" }), 0);
      assert.ok(!s.some((x) => x.labels.actor_name === ""), "no series has an empty actor_name");
      const { status, output } = promtoolCheckMetrics(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(output.trim(), "");
      assert.equal(status, 0);
    } finally {
      await h.close();
    }
  });

  test("gauges return to zero when every actor has slept; shutdown stops are counted", async () => {
    const h = await startServer({ use: { counter }, metrics: { token: TOKEN } });
    try {
      const conns = [];
      for (let i = 0; i < 5; i++) {
        const c = h.client.counter.getOrCreate([`g${i}`]).connect();
        await c.increment(1);
        conns.push(c);
      }
      let s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actors_active", C), 5);
      assert.equal(sampleValue(s, "troupe_actor_connections_active", C), 5);
      for (const c of conns) await c.dispose();
      for (let i = 0; i < 5; i++) await h.client.counter.getOrCreate([`g${i}`]).nap();
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actors_active", C) === 0, 3000, "all asleep");
      s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_connections_active", C), 0);
      assert.equal(sampleValue(s, "troupe_actor_inbox_depth", C), 0);
      assert.equal(sampleValue(s, "troupe_actor_stops_total", { ...C, reason: "sleep" }), 5);
      assert.equal(sampleValue(s, "troupe_actor_connections_closed_total", { ...C, reason: "client_closed" }), 5);
      await h.client.counter.getOrCreate(["doomed"]).destroy();
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_stops_total", { ...C, reason: "destroy" }) === 1, 2000, "destroy stop");
      assert.equal(sampleValue(await scrape(h.url), "troupe_actors_active", C), 0);
      await h.client.counter.getOrCreate(["g0"]).read();
      assert.equal(sampleValue(await scrape(h.url), "troupe_actor_starts_total", { ...C, kind: "wake" }), 1);
    } finally {
      await h.close();
    }
    const after = parseSamples(await h.registry.metrics.render());
    assert.equal(sampleValue(after, "troupe_actor_stops_total", { ...C, reason: "shutdown" }), 1);
    assert.equal(sampleValue(after, "troupe_actors_active", C), 0);
  });

  test("a failed commit counts no commit and crashes the instance", async () => {
    const store = new GatedStore();
    const h = await startServer({ use: { counter }, storage: store, metrics: { token: TOKEN } });
    try {
      const a = h.client.counter.getOrCreate(["f"]);
      await a.increment(1);
      const commitsBefore = sampleValue(await scrape(h.url), "troupe_actor_state_commits_total", C);
      store.failNext = 1;
      await assert.rejects(a.increment(1));
      const s = await scrape(h.url);
      assert.equal(sampleValue(s, "troupe_actor_state_commits_total", C), commitsBefore);
      assert.equal(sampleValue(s, "troupe_actor_action_calls_total", { ...C, action: "increment", outcome: "ok" }), 1);
      assert.equal(sampleValue(s, "troupe_actor_action_calls_total", { ...C, action: "increment", outcome: "error" }), 1, "a call whose commit failed is an error");
      assert.equal(sampleValue(s, "troupe_actor_stops_total", { ...C, reason: "crash" }), 1);
      assert.equal(sampleValue(s, "troupe_actor_state_commit_failures_total", C), 1);
    } finally {
      await h.close();
    }
  });

  test("series count depends on actor types, not on how many actors are live (1 vs 2,000)", async () => {
    const h = await startServer({ use: { counter }, metrics: { token: TOKEN } });
    try {
      const seriesAfter = async (n: number) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            while (next < n) await h.client.counter.getOrCreate([`card-${next++}`]).increment(1);
          }),
        );
        const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        return parseSamples(text).filter((x) => x.name.startsWith("troupe_")).length;
      };
      const one = await seriesAfter(1);
      const many = await seriesAfter(2000);
      assert.equal(many, one);
      assert.equal(sampleValue(await scrape(h.url), "troupe_actors_active", C), 2000);
    } finally {
      await h.close();
    }
  });
});

test("a prom-client metric that collides with a Troupe family fails startup", async () => {
  const prom = new PromRegistry();
  new PromCounter({ name: "troupe_actor_starts_total", help: "clash", registers: [prom] });
  const registry = setup({ use: { counter }, storage: { driver: "memory" }, logger: quietLogger, metrics: { token: TOKEN, promClient: prom } });
  await assert.rejects(registry.start(), /collides with a Troupe metric/);
  await registry.shutdown();
});
