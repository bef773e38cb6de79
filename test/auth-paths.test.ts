import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { actor, UserError } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { startServer } from "./helpers/harness.js";

// One auth path: every way of calling an actor passes onBeforeConnect with the caller's params
// (over HTTP from the x-rivet-conn-params header, never from the URL), and a refusal is a 403
// with a stable code or a WebSocket close with the reason.
const GOOD = { token: "open-sesame" };
const hookCalls: unknown[] = [];

const vault = actor({
  state: { handled: 0 },
  createConnState: (_c, params: { token?: string } | undefined) => ({ who: params?.token }),
  onBeforeConnect: (_c, params) => {
    hookCalls.push(params);
    if (params?.token === "mallory") throw new UserError("you are banned", { code: "banned" });
    if (params?.token !== GOOD.token) throw new Error("no valid token");
  },
  queues: {
    inbox: (c) => {
      c.state.handled++;
    },
  },
  onRequest: () => new Response("raw ok"),
  onWebSocket: (_c, socket) => socket.send("raw hello"),
  actions: {
    whoami: (c) => ({ who: (c.conn?.state as { who?: string } | undefined)?.who, params: c.conn?.params }),
    handled: (c) => c.state.handled,
  },
});

const caller = actor({
  state: {},
  actions: {
    relay: async (c, id: string, params: unknown) => (c.client() as any).vault.getForId(id, { params }).whoami(),
  },
});

type Outcome = { status: number; code?: string };
const cases: Array<[string, unknown, Outcome]> = [
  ["no params", undefined, { status: 403, code: "connection_refused" }],
  ["wrong params", { token: "guess" }, { status: 403, code: "connection_refused" }],
  ["a UserError refusal", { token: "mallory" }, { status: 403, code: "banned" }],
  ["good params", GOOD, { status: 200 }],
];

const header = (params: unknown): Record<string, string> => (params === undefined ? {} : { "x-rivet-conn-params": JSON.stringify(params) });

async function outcome(res: Response): Promise<Outcome> {
  const text = await res.text();
  if (res.ok) return { status: res.status };
  return { status: res.status, code: (JSON.parse(text) as { code: string }).code };
}

/** Opens a WebSocket; resolves with the first message, or the close code and reason. */
function openWs(url: string, opts: { headers?: Record<string, string>; protocols?: string[] }): Promise<{ message?: string; close?: [number, string] }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
    ws.on("message", (d) => {
      const text = d.toString();
      // The Troupe protocol's init frame means admitted.
      resolve({ message: text });
      ws.close();
    });
    ws.on("close", (code, reason) => resolve({ close: [code, reason.toString()] }));
    ws.on("error", () => {});
  });
}

describe("one auth path for every way in", () => {
  test("the matrix: HTTP action, queue send, raw request, raw WebSocket, connection, in-process call", async () => {
    const h = await startServer({ use: { vault, caller } });
    try {
      const id = await h.client.vault.getOrCreate(["v"]).resolve();
      const base = `${h.url}/actors/${id}`;
      const ws = base.replace("http", "ws");
      for (const [what, params, want] of cases) {
        const json = { "content-type": "application/json", ...header(params) };
        const action = await outcome(await fetch(`${base}/action/whoami`, { method: "POST", headers: json, body: "{}" }));
        assert.deepEqual(action, want, `HTTP action, ${what}`);
        const send = await outcome(await fetch(`${base}/queue/inbox`, { method: "POST", headers: json, body: JSON.stringify({ body: 1, wait: true }) }));
        assert.deepEqual(send, want, `queue send, ${what}`);
        const raw = await outcome(await fetch(`${base}/request/x`, { headers: header(params) }));
        assert.deepEqual(raw, want, `raw request, ${what}`);
        const rawWs = await openWs(`${ws}/websocket/x`, { headers: header(params) });
        if (want.status === 200) assert.equal(rawWs.message, "raw hello", `raw WebSocket, ${what}`);
        else assert.equal(rawWs.close?.[0], 4403, `raw WebSocket, ${what}: ${JSON.stringify(rawWs)}`), assert.match(rawWs.close![1], new RegExp(want.code!));
        const conn = h.client.vault.getForId(id).connect({ params: params as never, reconnect: false });
        const admitted = await conn.ready().then(() => "ok", (e: ActorError) => e.code);
        assert.equal(admitted, want.status === 200 ? "ok" : want.code, `connection, ${what}`);
        await conn.dispose();
        const relayed = await h.client.caller.getOrCreate(["c"]).relay(id, params).then(() => "ok", (e: ActorError) => e.code);
        assert.equal(relayed, want.status === 200 ? "ok" : want.code, `in-process call, ${what}`);
      }
      // Only the admitted sender's message was stored and handled.
      assert.equal(await h.client.vault.getForId(id, { params: GOOD }).handled(), 1);
    } finally {
      await h.close();
    }
  });

  test("a stateless call sees its params and the connection state createConnState made; the client sends handle params", async () => {
    const h = await startServer({ use: { vault } });
    try {
      const v = h.client.vault.getOrCreate(["w"], { params: GOOD });
      assert.deepEqual(await v.whoami(), { who: GOOD.token, params: GOOD });
      const id = await v.resolve();
      // Params in the URL are never read: they would end up in access logs.
      const viaUrl = await fetch(`${h.url}/actors/${id}/action/whoami?params=${encodeURIComponent(JSON.stringify(GOOD))}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(viaUrl.status, 403);
      const bad = await fetch(`${h.url}/actors/${id}/action/whoami`, { method: "POST", headers: { "content-type": "application/json", "x-rivet-conn-params": "{not json" }, body: "{}" });
      assert.deepEqual(await outcome(bad), { status: 400, code: "malformed_body" });
    } finally {
      await h.close();
    }
  });
});
