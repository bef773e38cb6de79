import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-handle (tests/driver/actor-handle.test.ts):
// handles from get / getForId / getOrCreate / create, stateless actions on them, and the
// connection hooks a stateless action runs, with the real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor handle", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, connFixtures, encoding);

  describe("access methods", () => {
    test("get() reaches an actor made by create()", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.create(["test-get-handle"]);
      const handle = client.counter.get(["test-get-handle"]);
      assert.equal(await handle.increment(5), 5);
      assert.equal(await handle.getCount(), 5);
    });

    test("getForId() reaches the actor a key resolved to, with its state", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-get-for-id-handle"]);
      await handle.increment(3);
      const actorId = await handle.resolve();
      const idHandle = client.counter.getForId(actorId);
      assert.equal(await idHandle.getCount(), 3);
      assert.equal(await idHandle.increment(4), 7);
    });

    test("getOrCreate() creates once, then finds the same actor", T, async (t) => {
      const { client } = await setup(t);
      assert.equal(await client.counter.getOrCreate(["test-get-or-create-handle"]).increment(7), 7);
      assert.equal(await client.counter.getOrCreate(["test-get-or-create-handle"]).getCount(), 7);
    });

    test("(await create()) returns a working handle", T, async (t) => {
      const { client } = await setup(t);
      const handle = await client.counter.create(["test-create-handle"]);
      assert.equal(await handle.increment(9), 9);
      assert.equal(await handle.getCount(), 9);
    });

    test("a second create() of the same key fails with actor/duplicate_key", T, async (t) => {
      const { client } = await setup(t);
      const key = ["duplicate-create-handle", crypto.randomUUID()];
      await (await client.counter.create(key)).increment(0);
      const err = await rejection(client.counter.create(key));
      assert.equal(err.group, "actor");
      // RivetKit's codes for a taken key; its client and tools match on them.
      assert.ok(["duplicate_key", "destroyed_during_creation"].includes(err.code), `code ${err.code}`);
    });

    test("get().resolve() of a missing key fails with actor/not_found", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.counter.get([`nonexistent-${crypto.randomUUID()}`]).resolve());
      assert.equal(err.group, "actor");
      assert.equal(err.code, "not_found");
    });
  });

  describe("action functionality", () => {
    test("actions called in sequence on one handle", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-action-handle"]);
      assert.equal(await handle.increment(3), 3);
      assert.equal(await handle.increment(5), 8);
      assert.equal(await handle.getCount(), 8);
    });

    test("independent handles to one actor share its state", T, async (t) => {
      const { client } = await setup(t);
      const h1 = client.counter.getOrCreate(["test-multiple-handles"]);
      const h2 = client.counter.get(["test-multiple-handles"]);
      await h1.increment(3);
      assert.equal(await h2.getCount(), 3);
      assert.equal(await h2.increment(4), 7);
      assert.equal(await h1.getCount(), 7);
    });

    test("resolve() returns a non-empty id that getForId() accepts", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-resolve-id"]);
      await handle.increment(1);
      const actorId = await handle.resolve();
      assert.equal(typeof actorId, "string");
      assert.notEqual(actorId, "");
      assert.equal(await client.counter.getForId(actorId).getCount(), 1);
    });
  });

  describe("lifecycle hooks", () => {
    const count = (events: string[], e: string) => events.filter((x) => x === e).length;

    test("onWake runs once when the actor is created, not once per handle", T, async (t) => {
      const { client } = await setup(t);
      const first = await client.counterWithLifecycle.getOrCreate(["test-lifecycle-handle"]).getEvents();
      assert.ok(first.includes("onWake"));
      const events = await client.counterWithLifecycle.getOrCreate(["test-lifecycle-handle"]).getEvents();
      assert.equal(count(events, "onWake"), 1);
    });

    // RivetKit runs a stateless action as a short-lived connection: onBeforeConnect, onConnect and
    // onDisconnect each run once per call.
    test("each stateless action runs onBeforeConnect, onConnect and onDisconnect once", T, async (t) => {
      const { client } = await setup(t);
      const view = client.counterWithLifecycle.getOrCreate(["test-lifecycle-action"]);
      const initial = await view.getEvents();
      assert.ok(initial.includes("onWake"));
      for (const e of ["onBeforeConnect", "onConnect", "onDisconnect"]) assert.ok(!initial.includes(e), e);
      const tracking = client.counterWithLifecycle.getOrCreate(["test-lifecycle-action"], { params: { trackLifecycle: true } });
      await tracking.increment(5);
      const afterOne = await view.getEvents();
      for (const e of ["onBeforeConnect", "onConnect", "onDisconnect"]) assert.equal(count(afterOne, e), 1, `${e} after one call: ${afterOne}`);
      await tracking.increment(10);
      const afterTwo = await view.getEvents();
      for (const e of ["onBeforeConnect", "onConnect", "onDisconnect"]) assert.equal(count(afterTwo, e), 2, `${e} after two calls: ${afterTwo}`);
    });

    test("the hooks run per call across several handles", T, async (t) => {
      const { client } = await setup(t);
      const view = client.counterWithLifecycle.getOrCreate(["test-lifecycle-multi-handle"]);
      const t1 = client.counterWithLifecycle.getOrCreate(["test-lifecycle-multi-handle"], { params: { trackLifecycle: true } });
      const t2 = client.counterWithLifecycle.getOrCreate(["test-lifecycle-multi-handle"], { params: { trackLifecycle: true } });
      await t1.increment(5);
      await t2.increment(10);
      const events = await view.getEvents();
      assert.equal(count(events, "onWake"), 1);
      for (const e of ["onBeforeConnect", "onConnect", "onDisconnect"]) assert.equal(count(events, e), 2, `${e}: ${events}`);
    });
  });
});
