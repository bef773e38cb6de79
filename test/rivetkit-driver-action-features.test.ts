import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest, waitUntil, type ServerOptions } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module action-features (tests/driver/action-features.test.ts):
// action timeouts, sync / async / promise actions, dotted action names, concurrent dispatch and
// message size limits over stateless HTTP calls, with the real rivetkit 2.3.19 client.

const use = { ...actionFixtures, largePayloadActor: connFixtures.largePayloadActor };
const ITEM = (i: number) => `Item ${i} with some additional text to increase size`;

describeDriverMatrix("RivetKit driver: action features", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0], server?: ServerOptions) => setupDriverTest(t, use, encoding, server);

  describe("action timeouts", () => {
    test("an action past its actor's timeout fails with `Action timed out`", T, async (t) => {
      const { client } = await setup(t);
      assert.equal(await client.shortTimeoutActor.getOrCreate().quickAction(), "quick response");
      const err = await rejection(client.shortTimeoutActor.getOrCreate().slowAction());
      // vitest's toThrow("…") checks that the message contains the text.
      assert.ok(String(err.message).includes("Action timed out"), err.message);
    });

    test("an action within the default timeout completes", T, async (t) => {
      const { client } = await setup(t);
      assert.equal(await client.defaultTimeoutActor.getOrCreate().normalAction(), "normal response");
    });

    test("a synchronous action is not affected by a short timeout", T, async (t) => {
      const { client } = await setup(t);
      assert.equal(await client.syncTimeoutActor.getOrCreate().syncAction(), "sync response");
    });

    test("each actor type has its own timeout", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.shortTimeoutActor.getOrCreate().slowAction());
      assert.ok(String(err.message).includes("Action timed out"), err.message);
      assert.equal(await client.longTimeoutActor.getOrCreate().delayedAction(), "delayed response");
    });
  });

  describe("action sync and async", () => {
    // The client sends `calculator.add` for both forms; RivetKit's nested actions are that name.
    test("dotted action names, through the nested proxy and action({ name })", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.nestedActionActor.getOrCreate([`nested-actions-${crypto.randomUUID()}`]);
      assert.equal(await instance.calculator.add(2), 2);
      assert.equal(await instance.action({ name: "calculator.add", args: [3] }), 5);
      assert.equal(await instance.calculator.read(), 5);
    });

    test("synchronous actions, including one returning nothing", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.syncActionActor.getOrCreate();
      assert.equal(await instance.increment(5), 5);
      assert.equal(await instance.increment(3), 8);
      const info = await instance.getInfo();
      assert.equal(info.currentValue, 8);
      assert.equal(typeof info.timestamp, "number");
      await instance.reset();
      assert.equal(await instance.increment(0), 0);
    });

    test("asynchronous actions, and a UserError from one", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.asyncActionActor.getOrCreate();
      assert.equal(await instance.delayedIncrement(5), 5);
      const data = await instance.fetchData("test-123");
      assert.equal(data.id, "test-123");
      assert.equal(typeof data.timestamp, "number");
      assert.equal(await instance.asyncWithError(false), "Success");
      const err = await rejection(instance.asyncWithError(true));
      assert.equal(err.message, "Intentional error");
    });

    test("returned promises: resolved, resolved later, rejected", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.promiseActor.getOrCreate();
      assert.equal(await instance.resolvedPromise(), "resolved value");
      assert.equal(await instance.delayedPromise(), "delayed value");
      const err = await rejection(instance.rejectedPromise());
      assert.ok(String(err.message).includes("promised rejection"), err.message);
      assert.ok((await instance.getResults()).includes("delayed"));
    });

    test("actions on one actor are dispatched concurrently", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.concurrentActionActor.getOrCreate([`concurrent-action-${crypto.randomUUID()}`]);
      await instance.getEvents();
      // RivetKit sends `fast` 25 ms after `slow`; separate HTTP requests may overtake each other
      // on a loaded machine, so this port waits until `slow` has started, and gives it longer.
      const slow = instance.runWithDelay("slow", 400);
      await waitUntil(async () => assert.deepEqual(await instance.getEvents(), ["start:slow"]), { interval: 5 });
      const fast = instance.runWithDelay("fast", 0);
      assert.deepEqual(await Promise.all([slow, fast]), ["slow", "fast"]);
      assert.deepEqual(await instance.getEvents(), ["start:slow", "start:fast", "finish:fast", "finish:slow"]);
    });
  });

  // RivetKit's defaults: 64 KiB per incoming message, 1 MiB per outgoing one. Troupe's incoming
  // cap is maxBodyBytes, set here to RivetKit's default.
  describe("large payloads", () => {
    const server: ServerOptions = { maxBodyBytes: 64 * 1024 };
    const items = (n: number) => Array.from({ length: n }, (_, i) => ITEM(i));

    test("a request under the limit (~48 KB) is handled", T, async (t) => {
      const { client } = await setup(t, server);
      const result = await client.largePayloadActor.getOrCreate().processLargeRequest({ items: items(800) });
      assert.deepEqual(result, { itemCount: 800, firstItem: ITEM(0), lastItem: ITEM(799) });
    });

    test("a request over the limit (~90 KB) is refused", T, async (t) => {
      const { client } = await setup(t, server);
      const err = await rejection(client.largePayloadActor.getOrCreate().processLargeRequest({ items: items(1500) }));
      assert.ok(err instanceof Error);
    });

    test("a large response (~48 KB) arrives whole", T, async (t) => {
      const { client } = await setup(t, server);
      const result = await client.largePayloadActor.getOrCreate().getLargeResponse(800);
      assert.equal(result.items.length, 800);
      assert.equal(result.items[0], ITEM(0));
      assert.equal(result.items[799], ITEM(799));
    });

    test("a response over 1 MiB (~1.2 MB) is refused", T, async (t) => {
      const { client } = await setup(t, server);
      const err = await rejection(client.largePayloadActor.getOrCreate().getLargeResponse(20_000));
      assert.ok(err instanceof Error);
    });
  });
});
