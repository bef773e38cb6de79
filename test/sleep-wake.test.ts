import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import { sleep, startServer, waitFor } from "./helpers/harness.js";

const events: string[] = [];

const sleepy = actor({
  state: { count: 0, wakes: 0 },
  createVars: () => ({ bootedAt: performance.now() }),
  onCreate: (c) => {
    events.push(`create:${c.key.join("/")}`);
  },
  onWake: (c) => {
    c.state.wakes += 1;
    events.push(`wake:${c.key.join("/")}`);
  },
  onSleep: (c) => {
    events.push(`sleep:${c.key.join("/")}`);
  },
  onDestroy: (c) => {
    events.push(`destroy:${c.key.join("/")}`);
  },
  actions: {
    increment: (c) => ++c.state.count,
    get: (c) => ({ ...c.state, bootedAt: c.vars.bootedAt }),
    nap: (c) => {
      c.sleep();
      return "ok";
    },
    destroy: (c) => {
      c.destroy();
      return "bye";
    },
  },
  options: { sleepTimeoutMs: 150 },
});

describe("sleep and wake", () => {
  test("an idle actor sleeps after sleepTimeoutMs and wakes on its next call with its state", async () => {
    const h = await startServer({ use: { sleepy } });
    try {
      const handle = h.client.sleepy.getOrCreate(["a"]);
      assert.equal(await handle.increment(), 1);
      const first = await handle.get();
      assert.deepEqual(events.filter((e) => e.endsWith(":a")), ["create:a", "wake:a"]);
      await waitFor(() => events.includes("sleep:a"), 3000, "onSleep");
      const second = await handle.get();
      assert.equal(second.count, 1);
      assert.equal(second.wakes, 2);
      assert.notEqual(second.bootedAt, first.bootedAt, "vars are rebuilt on wake");
      assert.deepEqual(events.filter((e) => e.endsWith(":a")), ["create:a", "wake:a", "sleep:a", "wake:a"]);
    } finally {
      await h.close();
    }
  });

  test("an open connection keeps the actor awake; closing it lets it sleep", async () => {
    const h = await startServer({ use: { sleepy } });
    try {
      const conn = h.client.sleepy.getOrCreate(["b"]).connect();
      await conn.increment();
      await sleep(400);
      assert.ok(!events.includes("sleep:b"), "no sleep while connected");
      await conn.dispose();
      await waitFor(() => events.includes("sleep:b"), 3000, "sleep after disconnect");
    } finally {
      await h.close();
    }
  });

  test("busy actors do not sleep mid-work", async () => {
    const h = await startServer({ use: { sleepy } });
    try {
      const handle = h.client.sleepy.getOrCreate(["c"]);
      for (let i = 0; i < 8; i++) {
        await handle.increment();
        await sleep(50);
      }
      assert.ok(!events.includes("sleep:c"));
      assert.equal((await handle.get()).wakes, 1);
    } finally {
      await h.close();
    }
  });

  test("c.sleep() unloads now; c.destroy() removes the actor and its id", async () => {
    const h = await startServer({ use: { sleepy } });
    try {
      const handle = h.client.sleepy.getOrCreate(["d"]);
      await handle.increment();
      await handle.nap();
      await waitFor(() => events.includes("sleep:d"), 2000, "c.sleep()");
      assert.equal((await handle.get()).count, 1);
      const id = await handle.resolve();
      await handle.destroy();
      await waitFor(() => events.includes("destroy:d"), 2000, "onDestroy");
      await waitFor(async () => (await h.client.sleepy.getForId(id).get().then(() => false, (e) => e.code === "not_found")), 2000, "actor/not_found after destroy");
      // A getOrCreate handle makes a new actor under the same key.
      assert.equal(await h.client.sleepy.getOrCreate(["d"]).increment(), 1);
    } finally {
      await h.close();
    }
  });
});
