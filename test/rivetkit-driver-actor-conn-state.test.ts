import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest, waitUntil } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite modules actor-conn-state (tests/driver/actor-conn-state.test.ts)
// and conn-preflight-disconnect (tests/driver/conn-preflight-disconnect.test.ts): per-connection
// state, c.conns, conn.send, and what c.conns shows while a connection is admitted, with the
// real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor conn state", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, connFixtures, encoding);

  describe("initialization", () => {
    test("a connection's state is built by createConnState", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.connStateActor.getOrCreate().connect();
      const s = await conn.getConnectionState();
      for (const f of ["id", "username", "role", "counter", "createdAt"]) assert.notEqual(s[f], undefined, f);
      await conn.dispose();
    });

    test("params shape the connection state", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.connStateActor.getOrCreate([], { params: { username: "testuser", role: "admin" } }).connect();
      const s = await conn.getConnectionState();
      assert.equal(s.username, "testuser");
      assert.equal(s.role, "admin");
      await conn.dispose();
    });
  });

  describe("management", () => {
    test("each connection keeps its own state", T, async (t) => {
      const { client } = await setup(t);
      const conn1 = client.connStateActor.getOrCreate([], { params: { username: "user1" } }).connect();
      await conn1.getConnectionState();
      const conn2 = client.connStateActor.getOrCreate([], { params: { username: "user2" } }).connect();
      await conn2.getConnectionState();
      await conn1.incrementConnCounter(5);
      await conn2.incrementConnCounter(10);
      const s1 = await conn1.getConnectionState();
      const s2 = await conn2.getConnectionState();
      assert.deepEqual([s1.counter, s2.counter, s1.username, s2.username], [5, 10, "user1", "user2"]);
      await conn1.dispose();
      await conn2.dispose();
    });

    test("c.conns lists the open connections", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connStateActor.getOrCreate();
      const conn1 = handle.connect();
      await conn1.getConnectionState();
      const conn2 = handle.connect();
      await conn2.getConnectionState();
      const s1 = await conn1.getConnectionState();
      const ids: string[] = await conn1.getConnectionIds();
      assert.ok(ids.length >= 2);
      assert.ok(ids.includes(s1.id));
      await conn1.dispose();
      await conn2.dispose();
    });

    test("connection ids are unique", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connStateActor.getOrCreate();
      const conn1 = handle.connect();
      await conn1.getConnectionState();
      const conn2 = handle.connect();
      await conn2.getConnectionState();
      const all: Array<{ id: string }> = await conn1.getAllConnectionStates();
      assert.ok(all.length >= 2);
      assert.equal(new Set(all.map((s) => s.id)).size, all.length);
      await conn1.dispose();
      await conn2.dispose();
    });
  });

  describe("lifecycle", () => {
    // The connection being admitted shows in c.conns only from onConnect on.
    test("a connection is hidden from c.conns until createConnState completes", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connPreflightVisibilityActor.getOrCreate(["create-state-visibility", crypto.randomUUID()]);
      const primary = handle.connect({ label: "primary" });
      await primary.snapshot();
      const pending = handle.connect({ label: "pending", createDelayMs: 300 });
      const snap = await pending.snapshot();
      assert.deepEqual([...snap.visibleLabels].sort(), ["pending", "primary"]);
      assert.deepEqual(snap.createVisibleLabels, [[], ["primary"]]);
      const mine = snap.connectSnapshots.find((s: { label: string }) => s.label === "pending");
      assert.equal(mine?.ownVisible, true);
      assert.deepEqual([...mine.visibleLabels].sort(), ["pending", "primary"]);
      await pending.dispose();
      await primary.dispose();
    });

    test("a connection is hidden from c.conns until onBeforeConnect completes", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connPreflightVisibilityActor.getOrCreate(["before-connect-visibility", crypto.randomUUID()]);
      const primary = handle.connect({ label: "primary" });
      await primary.snapshot();
      const pending = handle.connect({ label: "pending", beforeDelayMs: 300 });
      const snap = await pending.snapshot();
      assert.deepEqual([...snap.visibleLabels].sort(), ["pending", "primary"]);
      assert.deepEqual(snap.beforeVisibleLabels, [[], ["primary"]]);
      assert.deepEqual(snap.createVisibleLabels, [[], ["primary"]]);
      const mine = snap.connectSnapshots.find((s: { label: string }) => s.label === "pending");
      assert.equal(mine?.ownVisible, true);
      assert.deepEqual([...mine.visibleLabels].sort(), ["pending", "primary"]);
      await pending.dispose();
      await primary.dispose();
    });

    // Events sent from onConnect must reach listeners registered before the first await.
    test("events sent in onConnect reach listeners registered before the first await", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.connStateActor.getOrCreate([], { params: { username: "connect-event-user" } }).connect();
      let direct: unknown;
      let viaConns: unknown;
      const off1 = conn.on("connectedFromOnConnect", (e: unknown) => ((direct = e), off1()));
      const off2 = conn.on("connectedFromOnConnectConns", (e: unknown) => ((viaConns = e), off2()));
      const s = await conn.getConnectionState();
      await waitUntil(() => {
        assert.deepEqual(direct, { id: s.id, username: "connect-event-user" });
        assert.deepEqual(viaConns, { id: s.id, username: "connect-event-user" });
      });
      await conn.dispose();
    });

    test("connections and disconnections are tracked", T, async (t) => {
      const { client } = await setup(t);
      // A stateless observer (noCount) that the counts leave out.
      const debug = client.connStateActor.getOrCreate(undefined, { params: { noCount: true } });
      const conn = client.connStateActor.getOrCreate().connect();
      const s = await conn.getConnectionState();
      await waitUntil(async () => assert.ok((await debug.getConnectionIds()).includes(s.id)));
      assert.equal(await debug.getDisconnectionCount(), 0);
      await conn.dispose();
      await waitUntil(async () => assert.equal(await debug.getDisconnectionCount(), 1));
      const next = client.connStateActor.getOrCreate().connect();
      await waitUntil(async () => assert.equal((await debug.getConnectionIds()).length, 1));
      await next.dispose();
      await waitUntil(async () => assert.equal(await debug.getDisconnectionCount(), 2));
    });

    test("an action updates the connection's state", T, async (t) => {
      const { client } = await setup(t);
      const conn = client.connStateActor.getOrCreate().connect();
      assert.equal((await conn.getConnectionState()).username, "anonymous");
      const updated = await conn.updateConnection({ username: "newname", role: "moderator" });
      assert.deepEqual([updated.username, updated.role], ["newname", "moderator"]);
      const latest = await conn.getConnectionState();
      assert.deepEqual([latest.username, latest.role], ["newname", "moderator"]);
      await conn.dispose();
    });
  });

  describe("communication", () => {
    test("conn.send reaches the one connection it names", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connStateActor.getOrCreate();
      const conn1 = handle.connect();
      const s1 = await conn1.getConnectionState();
      const conn2 = handle.connect();
      const s2 = await conn2.getConnectionState();
      const received: any[] = [];
      conn2.on("directMessage", (m: unknown) => received.push(m));
      await conn2.getConnectionState();
      assert.equal(await conn1.sendToConnection(s2.id, "Hello from conn1"), true);
      await waitUntil(() => assert.deepEqual(received, [{ from: s1.id, message: "Hello from conn1" }]));
      await conn1.dispose();
      await conn2.dispose();
    });
  });

  // conn-preflight-disconnect.test.ts (RivetKit runs it in bare only; so does this port).
  if (encoding === "bare") {
    test("a connection refused in onBeforeConnect or createConnState never runs onDisconnect", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.connPreflightVisibilityActor.getOrCreate(["failed-preflight-disconnect", crypto.randomUUID()]);
      const primary = handle.connect({ label: "primary" });
      await primary.snapshot();
      const before = handle.connect({ label: "rejected-before", rejectBefore: true });
      await rejection(before.snapshot());
      const create = handle.connect({ label: "rejected-create", rejectCreate: true });
      await rejection(create.snapshot());
      const snap = await primary.snapshot();
      assert.deepEqual(snap.disconnectSnapshots, []);
      assert.deepEqual(snap.visibleLabels, ["primary"]);
      await before.dispose();
      await create.dispose();
      await primary.dispose();
    });
  }
});
