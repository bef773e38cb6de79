import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { GatedStore } from "./helpers/gated-store.js";
import { sleep, startServer, waitFor } from "./helpers/harness.js";

const tracer = actor({
  state: { log: [] as string[], count: 0 },
  actions: {
    step: async (c, name: string, ms: number) => {
      c.state.log.push(`start ${name}`);
      await sleep(ms);
      c.state.log.push(`end ${name}`);
      return name;
    },
    log: (c) => c.state.log,
    increment: (c) => {
      c.state.count += 1;
      c.broadcast("count", c.state.count);
      return c.state.count;
    },
    get: (c) => c.state.count,
    setBad: (c) => {
      (c.state as Record<string, unknown>).fn = () => 1;
      return "unreachable";
    },
  },
});

const reentrant = actor({
  state: { log: [] as string[] },
  actions: {
    step: async (c, name: string, ms: number) => {
      c.state.log.push(`start ${name}`);
      await sleep(ms);
      c.state.log.push(`end ${name}`);
      return name;
    },
    log: (c) => c.state.log,
  },
  options: { reentrant: true },
});

describe("turns", () => {
  test("one action at a time, in arrival order, even when actions await", async () => {
    const h = await startServer({ use: { tracer } });
    try {
      const conn = h.client.tracer.getOrCreate(["t"]).connect();
      const results = await Promise.all([conn.step("a", 40), conn.step("b", 1), conn.step("c", 20)]);
      assert.deepEqual(results, ["a", "b", "c"]);
      assert.deepEqual(await conn.log(), ["start a", "end a", "start b", "end b", "start c", "end c"]);
      await conn.dispose();
    } finally {
      await h.close();
    }
  });

  test("reentrant actors interleave", async () => {
    const h = await startServer({ use: { reentrant } });
    try {
      const conn = h.client.reentrant.getOrCreate(["t"]).connect();
      await Promise.all([conn.step("a", 40), conn.step("b", 1)]);
      assert.deepEqual(await conn.log(), ["start a", "start b", "end b", "end a"]);
      await conn.dispose();
    } finally {
      await h.close();
    }
  });
});

describe("output gate", () => {
  test("no reply or event leaves before the state change is committed", async () => {
    const store = new GatedStore();
    const h = await startServer({ use: { tracer }, storage: store });
    try {
      const conn = h.client.tracer.getOrCreate(["gate"]).connect();
      const events: number[] = [];
      conn.on("count", (n: number) => events.push(n));
      assert.equal(await conn.increment(), 1);
      store.hold();
      let replied = false;
      const reply = conn.increment().then((v) => {
        replied = true;
        return v;
      });
      await waitFor(() => store.waitingCount === 1, 2000, "the commit to start");
      await sleep(100);
      assert.equal(replied, false, "reply held while the commit is open");
      assert.deepEqual(events, [1], "event held while the commit is open");
      // A read that saw the uncommitted value waits too.
      let readDone = false;
      const read = conn.get().then((v) => ((readDone = true), v));
      await sleep(30);
      assert.equal(readDone, false);
      store.release();
      assert.equal(await reply, 2);
      assert.equal(await read, 2);
      await waitFor(() => events.length === 2, 2000, "event after commit");
      assert.deepEqual(events, [1, 2]);
      const lastCommit = store.committed.at(-1)!;
      assert.equal(lastCommit[0]!.kind, "state");
      await conn.dispose();
    } finally {
      store.release();
      await h.close();
    }
  });

  test("concurrent actions share group commits", async () => {
    const store = new GatedStore();
    const h = await startServer({ use: { tracer }, storage: store });
    try {
      const conn = h.client.tracer.getOrCreate(["group"]).connect();
      await conn.get();
      const before = store.committed.length;
      const results = await Promise.all(Array.from({ length: 200 }, () => conn.increment()));
      assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => i + 1));
      const commits = store.committed.length - before;
      assert.ok(commits >= 1 && commits < 50, `200 actions took ${commits} commits`);
      await conn.dispose();
    } finally {
      await h.close();
    }
  });

  test("a failed commit fails the caller and leaves no trace of the change", async () => {
    const store = new GatedStore();
    const h = await startServer({ use: { tracer }, storage: store });
    try {
      const handle = h.client.tracer.getOrCreate(["fail"]);
      assert.equal(await handle.increment(), 1);
      store.failNext = 1;
      await assert.rejects(handle.increment(), (e: ActorError) => e.code === "state_commit_failed" && e.status === 500);
      assert.equal(await handle.get(), 1, "the in-memory change was discarded with the failed commit");
      assert.equal(await handle.increment(), 2, "the actor recovers once the store does");
    } finally {
      await h.close();
    }
  });

  test("state that cannot be stored is refused with its path and rolled back", async () => {
    const h = await startServer({ use: { tracer } });
    try {
      const handle = h.client.tracer.getOrCreate(["bad"]);
      await handle.increment();
      await assert.rejects(handle.setBad(), (e: ActorError) => e.code === "invalid_state" && /state\.fn is a function/.test(e.message));
      assert.equal(await handle.get(), 1);
      assert.deepEqual(await handle.log(), []);
    } finally {
      await h.close();
    }
  });
});
