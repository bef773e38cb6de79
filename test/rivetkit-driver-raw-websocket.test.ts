import assert from "node:assert/strict";
import { test } from "node:test";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { closeEvent, describeDriverMatrix, T, nextJson, nextMessage, opened, setupDriverTest, waitUntil } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module raw-websocket (tests/driver/raw-websocket.test.ts):
// handle.webSocket() of the real rivetkit 2.3.19 client reaching an actor's onWebSocket through
// the gateway's `/websocket/...` path. The hibernation cases (message indexes, acks) are not
// ported: Troupe has no hibernatable sockets.

/** Polls the actor's stats until `connectionCount` is `n`. */
async function connectionsReach(actor: any, n: number): Promise<void> {
  await waitUntil(async () => assert.equal((await actor.getStats()).connectionCount, n), { timeout: 2000 });
}

describeDriverMatrix("RivetKit driver: raw websocket", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, ioFixtures, encoding);

  test("opens, and the actor's welcome arrives", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["basic"]).webSocket();
    const welcome = nextJson(ws);
    await opened(ws);
    assert.deepEqual(await welcome, { type: "welcome", connectionCount: 1 });
    ws.close();
  });

  test("text messages are echoed", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["echo"]).webSocket();
    await nextJson(ws, (m) => m.type === "welcome");
    const msg = { test: "data", timestamp: Date.now() };
    ws.send(JSON.stringify(msg));
    assert.deepEqual(await nextJson(ws), msg);
    ws.close();
  });

  test("ping gets pong", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["ping"]).webSocket();
    await nextJson(ws, (m) => m.type === "welcome");
    ws.send(JSON.stringify({ type: "ping" }));
    const pong = await nextJson(ws, (m) => m.type === "pong");
    assert.equal(typeof pong.timestamp, "number");
    ws.close();
  });

  test("stats count connections and messages across sockets, and actions see them", T, async (t) => {
    const { client } = await setup(t);
    const actor1 = client.rawWebSocketActor.getOrCreate(["stats"]);
    const ws1 = await actor1.webSocket();
    await nextJson(ws1, (m) => m.type === "welcome");
    const actor2 = client.rawWebSocketActor.get(["stats"]);
    const ws2 = await actor2.webSocket();
    await nextJson(ws2, (m) => m.type === "welcome");
    const pong = nextJson(ws2, (m) => m.type === "pong");
    ws1.send(JSON.stringify({ data: "test1" }));
    ws1.send(JSON.stringify({ data: "test3" }));
    ws2.send(JSON.stringify({ type: "ping" }));
    await pong;
    const stats = nextJson(ws1, (m) => m.type === "stats");
    ws1.send(JSON.stringify({ type: "getStats" }));
    assert.deepEqual(await stats, { type: "stats", connectionCount: 2, messageCount: 4 });
    assert.deepEqual(await actor1.getStats(), { connectionCount: 2, messageCount: 4 });
    ws1.close();
    ws2.close();
  });

  test("binary messages come back reversed, small and 1 KB", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketBinaryActor.getOrCreate(["binary"]).webSocket();
    await opened(ws);
    const bytes = async (data: unknown) => new Uint8Array(data instanceof Blob ? await data.arrayBuffer() : (data as ArrayBuffer));
    const small = nextMessage(ws);
    ws.send(new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual([...(await bytes(await small))], [5, 4, 3, 2, 1]);
    const large = Uint8Array.from({ length: 1024 }, (_, i) => i % 256);
    const back = nextMessage(ws);
    ws.send(large);
    assert.deepEqual([...(await bytes(await back))], [...large].reverse());
    ws.close();
  });

  test("a custom path works the same", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["paths"]).webSocket("custom/path");
    assert.equal((await nextJson(ws)).type, "welcome");
    ws.close();
  });

  test("closing the socket runs the actor's close listener", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawWebSocketActor.getOrCreate(["close-test"]);
    const ws = await actor.webSocket();
    await opened(ws);
    assert.equal((await actor.getStats()).connectionCount, 1);
    const closed = closeEvent(ws);
    ws.close();
    await closed;
    await connectionsReach(actor, 0);
  });

  test("an async onWebSocket sends after its await", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawWebSocketAsyncOpenActor.getOrCreate(["async-open"]);
    const ws = await actor.webSocket();
    assert.deepEqual(await nextJson(ws), { type: "async-open", openCount: 1 });
    assert.equal(await actor.getOpenCount(), 1);
    ws.close();
  });

  // Where Troupe differs (docs/PROTOCOL.md): RivetKit gives onWebSocket a connection (c.conn, with
  // state) for the raw socket. In Troupe a raw socket is not a connection: it passes
  // onBeforeConnect with its params, and its handler has the socket, not c.conn.
  test("Troupe differs: onWebSocket has no connection (c.conn is undefined); the socket is its handle", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketConnContextActor.getOrCreate(["conn-context"]).webSocket();
    const msg = await nextJson(ws);
    assert.equal(msg.type, "conn-context");
    assert.equal(msg.connId, undefined);
    ws.close();
  });

  // RivetKit forces the sleep through the engine's API; a Troupe actor sleeps itself with c.sleep().
  test("the actor going to sleep closes its raw socket cleanly (not 1006)", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawWebSocketAsyncOpenActor.getOrCreate(["force-sleep-disconnect"]);
    const ws = await actor.webSocket();
    assert.equal((await nextJson(ws)).type, "async-open");
    const closed = closeEvent(ws);
    await actor.sleep();
    const ev = await closed;
    assert.notEqual(ev.code, 1006);
    assert.equal(ws.readyState, 3);
  });

  test("open and close listeners track two sockets", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawWebSocketActor.getOrCreate(["open-close-test"]);
    const ws1 = await actor.webSocket();
    assert.deepEqual(await nextJson(ws1), { type: "welcome", connectionCount: 1 });
    const ws2 = await actor.webSocket();
    assert.deepEqual(await nextJson(ws2), { type: "welcome", connectionCount: 2 });
    assert.equal((await actor.getStats()).connectionCount, 2);
    let closed = closeEvent(ws1);
    ws1.close();
    await closed;
    await connectionsReach(actor, 1);
    closed = closeEvent(ws2);
    ws2.close();
    await closed;
    await connectionsReach(actor, 0);
  });

  test("the path's query parameters reach onWebSocket", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["query-params"]).webSocket("api/v1/stream?token=abc123&user=test");
    await nextJson(ws, (m) => m.type === "welcome");
    const info = nextJson(ws, (m) => m.type === "requestInfo");
    ws.send(JSON.stringify({ type: "getRequestInfo" }));
    const { url } = await info;
    for (const part of ["api/v1/stream", "token=abc123", "user=test"]) assert.ok(url.includes(part), url);
    ws.close();
  });

  test("query parameters on the base path (no subpath) reach onWebSocket", T, async (t) => {
    const { client } = await setup(t);
    const ws = await client.rawWebSocketActor.getOrCreate(["base-path-query-params"]).webSocket("?token=secret&session=123");
    await nextJson(ws, (m) => m.type === "welcome");
    const info = nextJson(ws, (m) => m.type === "requestInfo");
    ws.send(JSON.stringify({ type: "getRequestInfo" }));
    const { url } = await info;
    for (const part of ["token=secret", "session=123"]) assert.ok(url.includes(part), url);
    ws.close();
  });
});
