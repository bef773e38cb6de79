import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor, UserError } from "../src/index.js";
import { createClient, type ActorError } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
import { sleep, startServer, tempDir, waitFor } from "./helpers/harness.js";
import { sendQueue } from "./helpers/wire.js";

const TOKEN = "queue-test-token";

const worker = actor({
  state: { done: [] as string[] },
  queues: {
    // A failed attempt rolls back like any turn, so retries are counted by the message itself.
    jobs: (c, body: { id: string; failTimes?: number }, message) => {
      if (message.attempts < (body.failTimes ?? 0)) throw new UserError(`attempt ${message.attempts + 1} fails`);
      c.state.done.push(body.id);
      return `done:${body.id}`;
    },
    fragile: { handler: () => { throw new Error("always"); }, maxAttempts: 3, backoffMs: 10 },
    manual: {},
  },
  actions: {
    done: (c) => c.state.done,
    takeOne: async (c, timeoutMs: number) => (await c.queue.next<string>("manual", { timeoutMs }))?.body ?? null,
    takeThenThrow: async (c) => {
      await c.queue.next("manual");
      throw new Error("the message must stay");
    },
    nextOnHandlerQueue: (c) => c.queue.next("jobs"),
    // Actor-to-actor: send to another actor's queue in process and wait for its handler.
    forward: async (c, key: string, id: string): Promise<unknown> => ((await (c.client() as any).worker.getOrCreate([key]).send("jobs", { id }, { wait: true })) as { output: unknown }).output,
  },
});

const slowpoke = actor({
  state: {},
  queues: { slow: async () => new Promise((r) => setTimeout(r, 300)) },
  actions: {},
});

async function scrape(url: string) {
  return parseSamples(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
}

describe("durable queues", () => {
  test("handlers run in order; wait returns the result; retries back off until success", async () => {
    const h = await startServer({ use: { worker }, metrics: { token: TOKEN } });
    try {
      const w = h.client.worker.getOrCreate(["w"]);
      await w.done();
      const sent = await Promise.all(["a", "b", "c"].map((id) => w.send("jobs", { id })));
      assert.ok(sent.every((r) => typeof r.messageId === "number"));
      const res = await w.send("jobs", { id: "d", failTimes: 2 }, { wait: true, timeoutMs: 5000 });
      assert.equal(res.output, "done:d");
      assert.deepEqual(await w.done(), ["a", "b", "c", "d"]);
      const s = await scrape(h.url);
      const q = { actor_name: "worker", queue: "jobs" };
      assert.equal(sampleValue(s, "troupe_actor_queue_messages_sent_total", q), 4);
      assert.equal(sampleValue(s, "troupe_actor_queue_messages_processed_total", { ...q, outcome: "ok" }), 4);
      assert.equal(sampleValue(s, "troupe_actor_queue_messages_processed_total", { ...q, outcome: "error" }), 2);
      assert.equal(sampleValue(s, "troupe_actor_queue_depth", q), 0);
      assert.equal(sampleValue(s, "troupe_actor_queue_message_wait_seconds_count", q), 4);
    } finally {
      await h.close();
    }
  });

  test("after maxAttempts a message is a dead letter; a waiting sender is told", async () => {
    const h = await startServer({ use: { worker }, metrics: { token: TOKEN } });
    try {
      const w = h.client.worker.getOrCreate(["dead"]);
      await assert.rejects(w.send("fragile", "x", { wait: true }), (e: ActorError) => e.code === "queue_message_dead" && (e.metadata as { attempts?: number })?.attempts === 3);
      const s = await scrape(h.url);
      const q = { actor_name: "worker", queue: "fragile" };
      assert.equal(sampleValue(s, "troupe_actor_queue_messages_processed_total", { ...q, outcome: "error" }), 2);
      assert.equal(sampleValue(s, "troupe_actor_queue_messages_processed_total", { ...q, outcome: "dead" }), 1);
      assert.equal(sampleValue(s, "troupe_actor_queue_depth", q), 0);
    } finally {
      await h.close();
    }
  });

  test("c.queue.next takes messages in order, waits up to timeoutMs, and a throwing action leaves the message", async () => {
    const h = await startServer({ use: { worker } });
    try {
      const w = h.client.worker.getOrCreate(["m"]);
      await w.send("manual", "one");
      await w.send("manual", "two");
      await assert.rejects(w.takeThenThrow());
      assert.equal(await w.takeOne(0), "one", "the rolled-back take left the message");
      assert.equal(await w.takeOne(0), "two");
      assert.equal(await w.takeOne(50), null);
      const later = w.takeOne(2000);
      await sleep(100);
      await w.send("manual", "three");
      assert.equal(await later, "three", "next() waits for a message sent meanwhile");
    } finally {
      await h.close();
    }
  });

  test("another actor can send (in process) and wait; a wait past timeoutMs is a 408 (status timedOut on the wire) and the message stays", async () => {
    const h = await startServer({ use: { worker, slowpoke }, metrics: { token: TOKEN } });
    try {
      assert.equal(await h.client.worker.getOrCreate(["sender"]).forward("target", "x1"), "done:x1");
      assert.deepEqual(await h.client.worker.getOrCreate(["target"]).done(), ["x1"]);
      const s1 = h.client.slowpoke.getOrCreate(["s"]);
      await assert.rejects(s1.send("slow", 1, { wait: true, timeoutMs: 50 }), (e: ActorError) => e.code === "queue_wait_timed_out" && e.status === 408);
      // On the wire a wait that runs out is an answer, not an error: the message is stored and keeps its id.
      const timedOut = await sendQueue(h.url, await s1.resolve(), "slow", 2, { wait: true, timeout: 50 });
      assert.equal(timedOut.status, 200);
      assert.equal(timedOut.body.status, "timedOut");
      assert.equal(typeof timedOut.body.messageId, "number");
      assert.equal(timedOut.body.response, undefined);
      await waitFor(async () => sampleValue(await scrape(h.url), "troupe_actor_queue_messages_processed_total", { actor_name: "slowpoke", queue: "slow", outcome: "ok" }) === 2, 3000, "handled anyway");
    } finally {
      await h.close();
    }
  });

  test("bad queue input is refused clearly", async () => {
    const h = await startServer({ use: { worker } });
    try {
      const w = h.client.worker.getOrCreate(["bad"]);
      await assert.rejects(w.send("nope", 1), (e: ActorError) => e.code === "queue_not_found" && e.status === 404);
      await assert.rejects(w.send("manual", 1, { wait: true }), (e: ActorError) => e.code === "invalid_request");
      await assert.rejects(w.nextOnHandlerQueue(), (e: ActorError) => e.code === "queue_has_handler");
      await assert.rejects(h.client.worker.getForId("missing").send("jobs", 1), (e: ActorError) => e.code === "not_found");
      const id = await w.resolve();
      const r = await sendQueue(h.url, id, "jobs", 1, { timeout: -1 });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, "invalid");
    } finally {
      await h.close();
    }
  });
});

describe("queues across a real process restart", () => {
  test("acknowledged messages survive SIGKILL and are delivered after restart", async () => {
    const dataDir = tempDir();
    let server: ChildServer | undefined;
    try {
      server = await startChild("test/fixtures/queue-server.ts", { TROUPE_DATA_DIR: dataDir });
      let client = createClient<any>(server.url) as any;
      const w = () => client.worker.getOrCreate(["q"]);
      for (const b of ["m1", "m2", "m3"]) await w().send("inbox", b);
      await w().send("jobs", "job1");
      // The first attempt fails and its retry (backoff 400 ms) is durable; kill before the retry.
      await sleep(150);
      server.child.kill("SIGKILL");
      await server.exited;

      server = await startChild("test/fixtures/queue-server.ts", { TROUPE_DATA_DIR: dataDir });
      client = createClient<any>(server.url) as any;
      await waitFor(async () => (await w().get()).handled.includes("job1"), 5000, "job retried after restart");
      assert.deepEqual(await w().take(), ["m1", "m2", "m3"]);
      assert.deepEqual((await w().get()).handled, ["job1"]);
    } finally {
      server?.child.kill("SIGKILL");
      await server?.exited;
    }
  });
});
