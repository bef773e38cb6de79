import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { actor, UserError } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { startServer } from "./helpers/harness.js";
import { callAction, gatewayUrl, sendQueue, type WireResponse } from "./helpers/wire.js";

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

async function outcome(res: Response | WireResponse): Promise<Outcome> {
  const body = res instanceof Response ? await res.text().then((t) => (res.ok ? undefined : (JSON.parse(t) as { code: string }))) : (res.body as { code: string });
  if (res.status === 200) return { status: res.status };
  return { status: res.status, code: body?.code };
}

/** Opens a WebSocket; resolves with the first message, or the close code and reason. */
function openWs(url: string, opts: { headers?: Record<string, string>; protocols?: string[] }): Promise<{ message?: string; close?: [number, string] }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts.protocols ?? ["rivet"], { headers: opts.headers });
    ws.on("message", (d) => {
      const text = d.toString();
      // The protocol's Init frame (or the raw socket's first message) means admitted.
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
      const ws = gatewayUrl(h.url, id, "").replace("http", "ws");
      for (const [what, params, want] of cases) {
        const action = await outcome(await callAction(h.url, id, "whoami", [], { params }));
        assert.deepEqual(action, want, `HTTP action, ${what}`);
        const sent = await sendQueue(h.url, id, "inbox", 1, { wait: true, params });
        assert.deepEqual(await outcome(sent), want, `queue send, ${what}`);
        if (want.status === 200) assert.equal(sent.body.status, "completed", `queue send, ${what}`);
        const raw = await outcome(await fetch(gatewayUrl(h.url, id, "/request/x"), { headers: header(params) }));
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
      const query = encodeURIComponent(JSON.stringify(GOOD));
      for (const param of ["params", "conn_params", "rvt-conn-params", "x-rivet-conn-params"]) {
        const viaUrl = await fetch(gatewayUrl(h.url, id, `/action/whoami?${param}=${query}`), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ args: [] }),
        });
        // Refused by the hook for want of params, or (an `rvt-*` name the gateway does not know) before it.
        const expected = param.startsWith("rvt-") ? [400, "invalid"] : [403, "connection_refused"];
        assert.deepEqual([viaUrl.status, ((await viaUrl.json()) as { code: string }).code], expected, `?${param}=`);
      }
      const bad = await callAction(h.url, id, "whoami", [], { headers: { "x-rivet-conn-params": "{not json" } });
      assert.deepEqual(await outcome(bad), { status: 400, code: "malformed_body" });
    } finally {
      await h.close();
    }
  });
});
