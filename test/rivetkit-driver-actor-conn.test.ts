import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest, sleep, waitUntil, type ServerOptions } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite modules actor-conn (tests/driver/actor-conn.test.ts) and
// actor-conn-status (tests/driver/actor-conn-status.test.ts): connections of the real rivetkit
// 2.3.19 client to a Troupe server, events, params, lifecycle hooks, status callbacks and
// message size limits.

/** Resolves with the next `count` values of `event` on a connection, then unsubscribes. */
function collect<T>(conn: any, event: string, count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const values: T[] = [];
    const off = conn.on(event, (v: T) => {
      values.push(v);
      if (values.length === count) {
        off();
        resolve(values);
      }
    });
  });
}

const ITEM = (i: number) => `Item ${i} with some additional text to increase size`;

describeDriverMatrix("RivetKit driver: actor conn", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0], server?: ServerOptions) => setupDriverTest(t, connFixtures, encoding, server);

  describe("connection methods", () => {
    test(".get().connect()", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.create(["test-get"]);
      const conn = client.counter.get(["test-get"]).connect();
      assert.equal(await conn.increment(5), 5);
      await conn.dispose();
    });

    test(".getForId().connect() sees the state", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-get-for-id"]);
      await handle.increment(3);
      const conn = client.counter.getForId(await handle.resolve()).connect();
      assert.equal(await conn.getCount(), 3);
      await conn.dispose();
    });

    test(".getOrCreate().connect()", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-get-or-create"]).connect();
      assert.equal(await conn.increment(7), 7);
      await conn.dispose();
    });

    test("actorId is the handle's once the connection is ready", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-conn-actor-id"]);
      const conn = handle.connect();
      await conn.ready;
      assert.equal(conn.actorId, await handle.resolve());
      await conn.dispose();
    });

    test("(await create()).connect()", T, async (t) => {
      const { client } = await setup(t);
      const conn = (await client.counter.create(["test-create"])).connect();
      assert.equal(await conn.increment(9), 9);
      await conn.dispose();
    });
  });

  describe("event communication", () => {
    test("broadcasts from stateless calls reach the connection too", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["test-mixed-rpc-ws"]);
      const conn = handle.connect();
      const received: number[] = [];
      conn.on("newCount", (n: number) => received.push(n));
      const first = collect<number>(conn, "newCount", 1);
      await conn.setCount(1);
      assert.deepEqual(await first, [1]);
      const forwarded = collect<number>(conn, "newCount", 2);
      await handle.setCount(2);
      await handle.setCount(3);
      assert.deepEqual(await forwarded, [2, 3]);
      assert.deepEqual(received, [1, 2, 3]);
      await conn.dispose();
    });

    test("broadcasts arrive in order", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-broadcast"]).connect();
      const received: number[] = [];
      conn.on("newCount", (n: number) => received.push(n));
      const two = collect<number>(conn, "newCount", 2);
      await conn.setCount(5);
      await conn.setCount(8);
      assert.deepEqual(await two, [5, 8]);
      assert.deepEqual(received, [5, 8]);
      await conn.dispose();
    });

    test("once() hears only the first event", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-once"]).connect();
      const received: number[] = [];
      const first = new Promise<number>((resolve) => conn.once("newCount", (n: number) => (received.push(n), resolve(n))));
      await conn.increment(5);
      await conn.increment(3);
      assert.equal(await first, 5);
      assert.deepEqual(received, [5]);
      await conn.dispose();
    });

    test("after unsubscribing, later events are not received", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-unsubscribe"]).connect();
      const received: number[] = [];
      let onFirst: ((n: number) => void) | undefined;
      const first = new Promise<number>((r) => (onFirst = r));
      const off = conn.on("newCount", (n: number) => {
        received.push(n);
        onFirst?.(n);
        onFirst = undefined;
      });
      await conn.setCount(5);
      assert.equal(await first, 5);
      off();
      await conn.setCount(8);
      await sleep(50);
      assert.deepEqual(received, [5]);
      await conn.dispose();
    });
  });

  describe("connection parameters", () => {
    test("each connection's params reach createConnState", T, async (t) => {
      const { client } = await setup(t);
      const conn1 = client.counterWithParams.getOrCreate(["test-params"], { params: { name: "user1" } }).connect();
      await waitUntil(() => conn1.getInitializers());
      const conn2 = client.counterWithParams.getOrCreate(["test-params"], { params: { name: "user2" } }).connect();
      await waitUntil(() => conn2.getInitializers());
      const initializers: string[] = await conn1.getInitializers();
      assert.ok(initializers.includes("user1") && initializers.includes("user2"), String(initializers));
      await conn1.dispose();
      await conn2.dispose();
    });

    test("getParams is called for each connection", T, async (t) => {
      const { client } = await setup(t);
      let n = 0;
      const handle = client.counterWithParams.getOrCreate(["test-get-params"], { getParams: async () => ({ name: `user${++n}` }) });
      const conn1 = handle.connect();
      await waitUntil(() => conn1.getInitializers());
      await conn1.dispose();
      const conn2 = handle.connect();
      assert.deepEqual(await waitUntil(() => conn2.getInitializers()), ["user1", "user2"]);
      assert.equal(n, 2);
      await conn2.dispose();
    });

    test("a getParams failure surfaces as client/get_params_failed, then the connection retries", T, async (t) => {
      const { client } = await setup(t);
      let attempts = 0;
      const handle = client.counterWithParams.getOrCreate(["test-get-params-retry"], {
        getParams: async () => {
          if (++attempts === 1) throw new Error("token unavailable");
          return { name: "user1" };
        },
      });
      const conn = handle.connect();
      const errors: Array<{ group: string; code: string }> = [];
      conn.onError((e: any) => errors.push({ group: e.group, code: e.code }));
      const err = await rejection(conn.getInitializers());
      assert.deepEqual([err.group, err.code], ["client", "get_params_failed"]);
      await waitUntil(async () => assert.deepEqual(await conn.getInitializers(), ["user1"]), { timeout: 10_000 });
      assert.deepEqual(errors, [{ group: "client", code: "get_params_failed" }]);
      assert.ok(attempts >= 2);
      await conn.dispose();
    });
  });

  describe("lifecycle hooks", () => {
    test("onWake, onBeforeConnect, onConnect on connect; onDisconnect after dispose", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counterWithLifecycle.getOrCreate(["test-lifecycle"], { params: { trackLifecycle: true } }).connect();
      assert.deepEqual(await conn.getEvents(), ["onWake", "onBeforeConnect", "onConnect"]);
      await conn.dispose();
      const stillAwake = ["onWake", "onBeforeConnect", "onConnect", "onDisconnect"];
      await waitUntil(async () => {
        const events: string[] = await client.counterWithLifecycle.getOrCreate(["test-lifecycle"]).getEvents();
        // Either still awake, or it slept and woke again.
        assert.ok([JSON.stringify(stillAwake), JSON.stringify([...stillAwake, "onWake"])].includes(JSON.stringify(events)), String(events));
      });
    });
  });

  describe("connection state", () => {
    test("isConnected is false before the connection opens, then true", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-isconnected-initial"]).connect();
      assert.equal(conn.isConnected, false);
      await waitUntil(() => assert.equal(conn.isConnected, true));
      await conn.dispose();
    });

    test("ready resolves once, when the connection first opens", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-ready"]).connect();
      const ready = conn.ready;
      let resolved = false;
      void ready.then(() => (resolved = true));
      assert.equal(conn.ready, ready);
      assert.equal(conn.isConnected, false);
      await Promise.resolve();
      assert.equal(resolved, false);
      await ready;
      assert.equal(resolved, true);
      assert.equal(conn.isConnected, true);
      assert.equal(conn.ready, ready);
      await conn.dispose();
    });

    test("onOpen fires once when the connection opens", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-onopen"]).connect();
      let opens = 0;
      conn.onOpen(() => opens++);
      await waitUntil(() => assert.equal(opens, 1));
      assert.equal(conn.isConnected, true);
      await conn.dispose();
    });

    test("onClose fires once on dispose", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-onclose"]).connect();
      let closes = 0;
      conn.onClose(() => closes++);
      await waitUntil(() => assert.equal(conn.isConnected, true));
      await conn.dispose();
      assert.equal(closes, 1);
      assert.equal(conn.isConnected, false);
    });

    test("an onOpen listener removed at once is not called", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-onopen-unsub"]).connect();
      let opens = 0;
      conn.onOpen(() => opens++)();
      await waitUntil(() => assert.equal(conn.isConnected, true));
      assert.equal(opens, 0);
      await conn.dispose();
    });

    test("an onClose listener removed before dispose is not called", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-onclose-unsub"]).connect();
      let closes = 0;
      const off = conn.onClose(() => closes++);
      await waitUntil(() => assert.equal(conn.isConnected, true));
      off();
      await conn.dispose();
      assert.equal(closes, 0);
    });

    test("several onOpen and onClose handlers are all called", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["test-multi-handlers"]).connect();
      const called = new Set<string>();
      for (const n of ["open1", "open2"]) conn.onOpen(() => called.add(n));
      for (const n of ["close1", "close2"]) conn.onClose(() => called.add(n));
      await waitUntil(() => assert.ok(called.has("open1") && called.has("open2")));
      await conn.dispose();
      assert.deepEqual([...called].sort(), ["close1", "close2", "open1", "open2"]);
    });
  });

  // actor-conn-status.test.ts
  describe("connection status", () => {
    test("connStatus is `connected` after an action; onStatusChange saw it", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["status-change"]).connect();
      const statuses: string[] = [];
      conn.onStatusChange((s: string) => statuses.push(s));
      await conn.increment(1);
      assert.equal(conn.connStatus, "connected");
      await conn.dispose();
      assert.ok(statuses.includes("connected"), String(statuses));
    });

    test("an onStatusChange listener removed is not called on dispose", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["status-unsub"]).connect();
      const statuses: string[] = [];
      const off = conn.onStatusChange((s: string) => statuses.push(s));
      await conn.increment(1);
      off();
      const n = statuses.length;
      await conn.dispose();
      assert.equal(statuses.length, n);
    });

    test("onOpen has fired by the first answer; onClose fires on dispose", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.counter.getOrCreate(["status-onopen"]).connect();
      let opened = false;
      conn.onOpen(() => (opened = true));
      await conn.increment(1);
      assert.equal(opened, true);
      let closed = false;
      conn.onClose(() => (closed = true));
      await conn.dispose();
      assert.equal(closed, true);
    });
  });

  // RivetKit's defaults: 64 KiB per incoming message, 1 MiB per outgoing one. Troupe's incoming
  // cap is maxBodyBytes, set here to RivetKit's default.
  describe("large payloads", () => {
    const server: ServerOptions = { maxBodyBytes: 64 * 1024 };
    const items = (n: number) => Array.from({ length: n }, (_, i) => ITEM(i));

    test("a request under the limit (~48 KB) is handled and its size kept in conn state", T, async (t) => {
      const { client } = await setup(t, server);
      const conn = client.largePayloadConnActor.getOrCreate(["test-large-request"]).connect();
      const result = await conn.processLargeRequest({ items: items(800) });
      assert.deepEqual(result, { itemCount: 800, firstItem: ITEM(0), lastItem: ITEM(799) });
      assert.equal(await conn.getLastRequestSize(), 800);
      await conn.dispose();
    });

    test("a request over the limit (~90 KB) fails with message/incoming_too_long and closes the connection", T, async (t) => {
      const { client } = await setup(t, server);
      const conn = client.largePayloadConnActor.getOrCreate(["test-large-request-exceed"]).connect();
      await conn.ready;
      const [big, small] = await Promise.allSettled([conn.processLargeRequest({ items: items(1500) }), conn.processLargeRequest({ items: ["small"] })]);
      assert.equal(big.status, "rejected");
      const reason = (big as PromiseRejectedResult).reason;
      assert.deepEqual([reason.group, reason.code], ["message", "incoming_too_long"]);
      // The whole connection closes, so the call sent beside it fails too.
      assert.equal(small.status, "rejected");
      await conn.dispose();
    });

    test("a large response (~48 KB) arrives whole", T, async (t) => {
      const { client } = await setup(t, server);
      const conn = client.largePayloadConnActor.getOrCreate(["test-large-response"]).connect();
      const result = await conn.getLargeResponse(800);
      assert.equal(result.items.length, 800);
      assert.equal(result.items[0], ITEM(0));
      assert.equal(result.items[799], ITEM(799));
      await conn.dispose();
    });

    test("a response over 1 MiB (~1.2 MB) fails with message/outgoing_too_long", T, async (t) => {
      const { client } = await setup(t, server);
      const conn = client.largePayloadConnActor.getOrCreate(["test-large-response-exceed"]).connect();
      const err = await rejection(conn.getLargeResponse(20_000));
      assert.deepEqual([err.group, err.code], ["message", "outgoing_too_long"]);
      await conn.dispose();
    });
  });
});
