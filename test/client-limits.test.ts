import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { createClient } from "../src/client/index.js";
import { jsonParseCompat, jsonStringifyCompat } from "../src/client/protocol/json-compat.js";
import type { LimitsRegistry } from "./fixtures/limits-server.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";

// A hostile client pushes each cap of docs/PROTOCOL.md ("Limits") far past it: it gets the
// documented close or status, the server's RSS stays bounded (the server runs in its own
// process), and a well-behaved client on another address keeps being served throughout.
// Linux routes all of 127/8 to loopback, so each client picks its own source address.
const LIMITS = {
  maxEarlyFrames: 32,
  maxEarlyBytes: 256 * 1024,
  maxPendingCalls: 16,
  maxPendingCallBytes: 256 * 1024,
  maxSubscriptions: 16,
  maxWebSocketsPerAddress: 8,
  maxWebSockets: 24,
  maxConnectionsPerAddress: 16,
  maxConnections: 64,
};
/** What each hostile client tries to make the server hold: far past every cap. */
const PUSH_BYTES = 256 * 1024 * 1024;
const RSS_BOUND = 128 * 1024 * 1024;

let server: ChildServer;
let url: string;
let client: ReturnType<typeof createClient<LimitsRegistry>>;
let good: ReturnType<ReturnType<typeof client.probe.getOrCreate>["connect"]>;
let rssBefore = 0;
const rss = async () => (await client.probe.getOrCreate(["rss"]).rss()) as number;

interface Closed {
  code: number;
  reason: string;
}

interface Opened {
  ws: WebSocket;
  closed: Promise<Closed>;
  /** The first frame from the server (`Init`), caught even if it arrives with the handshake. */
  init: Promise<unknown>;
  /** Every later frame's `body`, parsed (`{tag, val}`, ids as bigint). */
  messages: any[];
}

/** A client frame `{body: {tag, val}}`, as JSON text. */
const frame = (tag: "ActionRequest" | "SubscriptionRequest", val: Record<string, unknown>): string => jsonStringifyCompat({ body: { tag, val } });
const call = (id: number, name: string, args: unknown[] = []) => frame("ActionRequest", { id: BigInt(id), name, args });
const subscription = (eventName: string, subscribe: boolean) => frame("SubscriptionRequest", { eventName, subscribe });
const connectPath = (actorId: string) => `/gateway/${encodeURIComponent(actorId)}/connect`;

/** Opens a connection socket from `localAddress`; resolves once it opened. */
function open(path: string, localAddress: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}${path}`, ["rivet", "rivet_encoding.json"], { localAddress, headers });
    const closed = new Promise<Closed>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    const messages: any[] = [];
    let first: ((frame: unknown) => void) | undefined;
    const init = new Promise((r) => (first = r));
    ws.on("message", (d) => {
      if (!first) return void messages.push((jsonParseCompat(d.toString()) as { body: unknown }).body);
      first(d);
      first = undefined;
    });
    ws.on("error", () => {});
    ws.once("open", () => resolve({ ws, closed, init, messages }));
    ws.once("unexpected-response", () => reject(new Error("upgrade refused")));
  });
}

/** Sends frames from `make` until the server closes the socket or `PUSH_BYTES` went out, pacing on the socket's buffer. */
async function push(ws: WebSocket, make: (i: number) => string): Promise<number> {
  let sent = 0;
  for (let i = 0; sent < PUSH_BYTES && ws.readyState === ws.OPEN; i++) {
    const frame = make(i);
    ws.send(frame);
    sent += frame.length;
    if (ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    else if (i % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  return sent;
}

/** The good client's proof of service: a call over its long-lived connection and one over HTTP. */
async function served(what: string): Promise<void> {
  assert.equal(await good.rss().then((n: unknown) => typeof n), "number", `${what}: the good WebSocket is served`);
  assert.equal(typeof (await client.probe.getOrCreate(["good"]).inc()), "number", `${what}: good HTTP is served`);
}

before(async () => {
  server = await startChild("test/fixtures/limits-server.ts", { TROUPE_TEST_LIMITS: JSON.stringify(LIMITS) }, 20_000, ["--expose-gc"]);
  url = server.url;
  client = createClient<LimitsRegistry>(url);
  good = client.probe.getOrCreate(["good"]).connect();
  await good.ready();
  rssBefore = await rss();
});

after(async () => {
  await good?.dispose();
  server?.child.kill("SIGTERM");
  await server?.exited;
});

describe("per-connection caps", () => {
  test("frames before admission: closed 1008 too_many_early_frames", async () => {
    const id = await client.gate.getOrCreate(["early"]).resolve();
    const params = { "x-rivet-conn-params": JSON.stringify({ holdMs: 2_000 }) };
    const { ws, closed } = await open(connectPath(id), "127.0.0.3", params);
    const pushing = push(ws, (i) => call(i, "ping", ["x".repeat(16 * 1024)]));
    await served("during an early-frame flood");
    const [sent, info] = await Promise.all([pushing, closed]);
    assert.equal(info.code, 1008);
    assert.match(info.reason, /^connection\.too_many_early_frames#/);
    assert.ok(sent < PUSH_BYTES, `cut before the whole push (${sent} bytes sent)`);
    await served("after");
  });

  test("pending calls: closed 1008 too_many_pending_calls", async () => {
    const id = await client.slow.getOrCreate(["pending"]).resolve();
    const { ws, closed, init } = await open(connectPath(id), "127.0.0.3");
    await init; // frames from here on are calls
    const pushing = push(ws, (i) => call(i, "wait", [5_000, "x".repeat(16 * 1024)]));
    await served("during a call flood");
    const [sent, info] = await Promise.all([pushing, closed]);
    assert.equal(info.code, 1008);
    assert.match(info.reason, /^connection\.too_many_pending_calls#/);
    assert.ok(sent < PUSH_BYTES, `cut before the whole push (${sent} bytes sent)`);
    await served("after");
  });

  test("pending calls under the cap are all answered", async () => {
    const id = await client.slow.getOrCreate(["under"]).resolve();
    const conn = client.slow.getForId(id).connect();
    const replies = await Promise.all(Array.from({ length: LIMITS.maxPendingCalls }, () => conn.wait(50)));
    assert.deepEqual(replies, Array(LIMITS.maxPendingCalls).fill(true));
    await conn.dispose();
  });

  test("subscriptions: closed 1008 too_many_subscriptions; re-subscribing one event costs nothing", async () => {
    const id = await client.gate.getOrCreate(["subs"]).resolve();
    const same = await open(connectPath(id), "127.0.0.3");
    await same.init;
    for (let i = 0; i < LIMITS.maxSubscriptions * 4; i++) same.ws.send(subscription("one", true));
    for (let i = 0; i < LIMITS.maxSubscriptions * 4; i++) {
      same.ws.send(subscription(`e${i % 4}`, true));
      same.ws.send(subscription(`e${i % 4}`, false));
    }
    same.ws.send(call(1, "ping"));
    while (same.messages.length === 0 && same.ws.readyState === same.ws.OPEN) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(same.messages, [{ tag: "ActionResponse", val: { id: 1n, output: "pong" } }], "still open");
    same.ws.close();

    const { ws, closed, init } = await open(connectPath(id), "127.0.0.3");
    await init;
    const pushing = push(ws, (i) => subscription(`${i}-${"e".repeat(240)}`, true));
    await served("during a subscription flood");
    const [sent, info] = await Promise.all([pushing, closed]);
    assert.equal(info.code, 1008);
    assert.match(info.reason, /^connection\.too_many_subscriptions#/);
    assert.ok(sent < PUSH_BYTES);
    await served("after");
  });
});

describe("connection caps", () => {
  test("WebSockets per address: the one past the cap is closed 1008 too_many_connections; other addresses connect", async () => {
    const id = await client.gate.getOrCreate(["per-address"]).resolve();
    const held: Opened[] = [];
    for (let i = 0; i < LIMITS.maxWebSocketsPerAddress; i++) held.push(await open(connectPath(id), "127.0.0.4"));
    const extra = await open(connectPath(id), "127.0.0.4");
    const info = await extra.closed;
    assert.equal(info.code, 1008);
    assert.match(info.reason, /^connection\.too_many_connections#/);
    const other = await open(connectPath(id), "127.0.0.5");
    assert.equal(other.ws.readyState, other.ws.OPEN, "another address is not affected");
    await served("with one address at its cap");
    other.ws.close();
    for (const h of held) h.ws.close();
    await Promise.all(held.map((h) => h.closed));
    // Freed: the address may connect again.
    const again = await open(connectPath(id), "127.0.0.4");
    assert.equal(again.ws.readyState, again.ws.OPEN);
    again.ws.close();
    await again.closed;
  });

  test("WebSockets in total: past the cap, closed 1013 server_at_capacity; open ones keep working", async () => {
    const id = await client.gate.getOrCreate(["total"]).resolve();
    const held: Opened[] = [];
    let refusal: Closed | undefined;
    for (let a = 10; !refusal && a < 20; a++) {
      for (let i = 0; i < LIMITS.maxWebSocketsPerAddress && !refusal; i++) {
        const c = await open(connectPath(id), `127.0.0.${a}`);
        const first = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(r, 30))]);
        if (first) refusal = first;
        else held.push(c);
      }
    }
    assert.ok(refusal, "a connection was refused");
    assert.equal(refusal.code, 1013);
    assert.match(refusal.reason, /^server\.server_at_capacity#/);
    assert.equal(held.length + 1, LIMITS.maxWebSockets, "the good client's connection plus the hostile ones fill the server");
    await served("at capacity (over the connection it already had)");
    for (const h of held) h.ws.close();
    await Promise.all(held.map((h) => h.closed));
    const fresh = client.probe.getOrCreate(["fresh"]).connect();
    assert.equal(await fresh.inc(), 1, "new connections are admitted once others left");
    await fresh.dispose();
  });

  /** Opens idle TCP connections from `localAddress`; returns them and what each received within 200 ms. */
  async function idleSockets(n: number, localAddress: string): Promise<Array<{ socket: net.Socket; got: () => string }>> {
    const port = Number(new URL(url).port);
    const out = [];
    for (let i = 0; i < n; i++) {
      const socket = net.connect({ port, host: "127.0.0.1", localAddress });
      let got = "";
      socket.on("data", (d) => (got += d));
      socket.on("error", () => {});
      await new Promise((r) => socket.once("connect", r));
      out.push({ socket, got: () => got });
    }
    await new Promise((r) => setTimeout(r, 200));
    return out;
  }

  test("TCP connections per address: the one past the cap is answered 429 too_many_connections", async () => {
    const sockets = await idleSockets(LIMITS.maxConnectionsPerAddress + 1, "127.0.0.6");
    const answered = sockets.filter((s) => s.got() !== "");
    assert.equal(answered.length, 1);
    assert.equal(answered[0], sockets.at(-1));
    assert.match(answered[0]!.got(), /^HTTP\/1\.1 429 Too Many Requests\r\n[\s\S]*"code":"too_many_connections"/);
    await served("with one address at its TCP cap");
    for (const s of sockets) s.socket.destroy();
  });

  test("TCP connections in total: past the cap, answered 503 server_at_capacity; served again once they close", async () => {
    const all: Array<{ socket: net.Socket; got: () => string }> = [];
    let refused: string | undefined;
    for (let a = 30; !refused && a < 40; a++) {
      const batch = await idleSockets(LIMITS.maxConnectionsPerAddress, `127.0.0.${a}`);
      all.push(...batch);
      refused = batch.find((s) => s.got() !== "")?.got();
    }
    assert.ok(refused, "a connection was refused");
    assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*"code":"server_at_capacity"/);
    await served("at TCP capacity (over the connections it already had)");
    for (const s of all) s.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`${url}/health`, { headers: { connection: "close" } });
    assert.equal(res.status, 200, "new connections are accepted once others left");
  });
});

test("server memory stayed bounded through every flood", async () => {
  const grown = (await rss()) - rssBefore;
  console.log(`client-limits: server RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB -> +${(grown / 2 ** 20).toFixed(0)} MB after pushing ${PUSH_BYTES / 2 ** 20} MB per flood`);
  assert.ok(grown < RSS_BOUND, `server RSS grew ${(grown / 2 ** 20).toFixed(0)} MB`);
});
