import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
import { sleep, startServer, waitFor } from "./helpers/harness.js";
import { gatewayUrl } from "./helpers/wire.js";

const TOKEN = "raw-test-token";

const site = actor({
  state: { hits: 0, echoed: [] as string[] },
  onRequest: async (c, req) => {
    const url = new URL(req.url);
    if (url.pathname === "/boom") throw new Error("handler failure");
    c.state.hits += 1;
    const body = req.method === "POST" ? await req.text() : "";
    return new Response(JSON.stringify({ path: url.pathname, q: url.searchParams.get("q"), method: req.method, body, hits: c.state.hits }), {
      status: url.pathname === "/missing" ? 404 : 200,
      headers: { "content-type": "application/json" },
    });
  },
  onWebSocket: (c, socket, request) => {
    socket.send(`hello ${request.url}`);
    socket.onMessage((data) => {
      c.state.echoed.push(String(data));
      socket.send(`echo:${String(data)}`);
    });
  },
  actions: {
    hits: (c) => c.state.hits,
    echoed: (c) => c.state.echoed,
  },
  options: { sleepTimeoutMs: 100 },
});

const plain = actor({ state: {}, actions: { ping: () => "pong" } });

const counter = actor({
  state: { n: 0, log: [] as string[] },
  actions: {
    add: (c, by: number) => (c.state.n += by),
    get: (c) => c.state.n,
    list: (c) => c.state.log,
  },
});

const caller = actor({
  state: {},
  actions: {
    bump: async (c, key: string, by: number): Promise<number> => {
      const client = c.client<{ counter: typeof counter }>() as any;
      return client.counter.getOrCreate([key]).add(by);
    },
    bumpSelf: async (c): Promise<unknown> => (c.client() as any).caller.getForId(c.actorId).bump("x", 1),
    mutateResult: async (c): Promise<number> => {
      const client = c.client() as any;
      const list = await client.counter.getOrCreate(["alias"]).list();
      list.push("mutated by the caller");
      return (await client.counter.getOrCreate(["alias"]).list()).length;
    },
  },
});

describe("raw HTTP and WebSocket handlers", () => {
  test("onRequest serves any method under /request, as a turn, and is counted by status class", async () => {
    const h = await startServer({ use: { site, plain }, metrics: { token: TOKEN } });
    try {
      const id = await h.client.site.getOrCreate(["s"]).resolve();
      const base = gatewayUrl(h.url, id, "/request");
      const r1 = await (await fetch(`${base}/hello/world?q=1`)).json();
      assert.deepEqual(r1, { path: "/hello/world", q: "1", method: "GET", body: "", hits: 1 });
      const r2 = await (await fetch(`${base}/p`, { method: "POST", body: "payload" })).json();
      assert.equal(r2.body, "payload");
      assert.equal((await fetch(`${base}/missing`)).status, 404);
      const boom = await fetch(`${base}/boom`);
      assert.equal(boom.status, 500);
      assert.equal(((await boom.json()) as { code: string }).code, "internal_error");
      assert.equal(await h.client.site.getOrCreate(["s"]).hits(), 3, "the failed request's turn was rolled back");
      const plainId = await h.client.plain.getOrCreate(["p"]).resolve();
      const none = await fetch(gatewayUrl(h.url, plainId, "/request/x"));
      assert.equal(none.status, 404);
      assert.equal(((await none.json()) as { code: string }).code, "raw_handler_not_found");
      const s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      const cls = (k: string) => sampleValue(s, "troupe_actor_http_requests_total", { actor_name: "site", status_class: k });
      assert.equal(cls("2xx"), 2);
      assert.equal(cls("4xx"), 1);
      assert.equal(cls("5xx"), 1);
      assert.equal(sampleValue(s, "troupe_actor_http_requests_active", { actor_name: "site" }), 0);
    } finally {
      await h.close();
    }
  });

  test("onWebSocket gets a raw socket whose messages run as turns; an open socket keeps the actor awake", async () => {
    const h = await startServer({ use: { site }, metrics: { token: TOKEN } });
    try {
      const id = await h.client.site.getOrCreate(["w"]).resolve();
      const ws = new WebSocket(gatewayUrl(h.url.replace("http", "ws"), id, "/websocket/room?x=1"), ["rivet"]);
      const got: string[] = [];
      ws.on("message", (d) => got.push(d.toString()));
      await new Promise((r) => ws.once("open", r));
      ws.send("a");
      ws.send("b");
      await waitFor(() => got.length === 3, 2000, "replies");
      assert.deepEqual(got, ["hello /room?x=1", "echo:a", "echo:b"]);
      let s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(s, "troupe_actor_websockets_active", { actor_name: "site" }), 1);
      await sleep(300);
      assert.equal((await h.registry.start()).liveCount, 1, "no sleep while the raw socket is open");
      ws.close();
      await waitFor(async () => (await h.registry.start()).liveCount === 0, 3000, "sleep after close");
      s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(s, "troupe_actor_websockets_active", { actor_name: "site" }), 0);
      assert.deepEqual(await h.client.site.getOrCreate(["w"]).echoed(), ["a", "b"]);
    } finally {
      await h.close();
    }
  });
});

describe("actor-to-actor calls with c.client()", () => {
  test("calls another actor in process, with copies of arguments and results", async () => {
    const h = await startServer({ use: { counter, caller } });
    try {
      const c = h.client.caller.getOrCreate(["c"]);
      assert.equal(await c.bump("k", 2), 2);
      assert.equal(await c.bump("k", 3), 5);
      assert.equal(await h.client.counter.getOrCreate(["k"]).get(), 5);
      assert.equal(await c.mutateResult(), 0, "mutating a result does not touch the callee's state");
      await assert.rejects(c.bumpSelf(), (e: ActorError) => e.code === "self_call");
    } finally {
      await h.close();
    }
  });
});
