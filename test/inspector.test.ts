import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor, UserError } from "../src/index.js";
import { startServer, waitFor } from "./helpers/harness.js";

const TOKEN = "inspector-test-token";

const room = actor({
  state: { count: 0, note: "hello" },
  createVars: () => ({ apiClient: { secretKey: "do-not-show" }, startedAt: 1 }),
  // Stateless HTTP calls pass createConnState too, without params unless the caller sends them.
  createConnState: (_c, params: { user: string; token?: string } | undefined) => ({ user: params?.user ?? "anonymous" }),
  db: { migrations: ["CREATE TABLE items (id INTEGER PRIMARY KEY)"] },
  queues: { inbox: {} },
  actions: {
    add: async (c, n: number) => {
      c.state.count += n;
      await c.kv.put(`k${c.state.count}`, n);
      c.db.run("INSERT INTO items DEFAULT VALUES");
      return c.state.count;
    },
    fail: () => {
      throw new UserError("nope", { code: "nope" });
    },
    later: (c) => c.schedule.after(60_000, "add", 1),
  },
});

describe("inspector", () => {
  test("auth: disabled without a token, 401 without or with a wrong token", async () => {
    const off = await startServer({ use: { room } });
    try {
      const r = await fetch(`${off.url}/inspector/actors`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 403);
      assert.match(await r.text(), /inspector not enabled/);
    } finally {
      await off.close();
    }
    const h = await startServer({ use: { room }, inspector: { token: TOKEN } });
    try {
      const none = await fetch(`${h.url}/inspector/actors`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="troupe-inspector"');
      const wrong = await fetch(`${h.url}/inspector/actors`, { headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers.get("www-authenticate")!, /invalid_token/);
      const meta = await (await fetch(`${h.url}/metadata`)).text();
      assert.ok(!meta.includes(TOKEN));
    } finally {
      await h.close();
    }
  });

  test("the /metrics auth matrix holds for the inspector too", async () => {
    const h = await startServer({ use: { room }, inspector: { token: TOKEN } });
    try {
      const cases: Array<[string, string | undefined, number]> = [
        ["no header", undefined, 401],
        ["wrong scheme", `Basic ${TOKEN}`, 401],
        ["empty token", "Bearer ", 401],
        ["one byte short", `Bearer ${TOKEN.slice(0, -1)}`, 401],
        ["one byte long", `Bearer ${TOKEN}x`, 401],
        ["very long token", `Bearer ${"t".repeat(8_000)}`, 401],
        // Past Node's 16 KB header limit the server refuses the request before any code runs.
        ["oversized header", `Bearer ${"t".repeat(50_000)}`, 431],
        ["lowercase bearer", `bearer ${TOKEN}`, 200],
        ["extra whitespace", `  Bearer   ${TOKEN} `, 200],
        ["correct", `Bearer ${TOKEN}`, 200],
      ];
      for (const [name, header, status] of cases) {
        const r = await fetch(`${h.url}/inspector/actors`, { headers: header === undefined ? {} : { authorization: header } });
        assert.equal(r.status, status, name);
        if (status === 401) assert.match(r.headers.get("www-authenticate")!, /^Bearer realm="troupe-inspector"/, name);
        if (status === 431) assert.equal(r.headers.get("www-authenticate"), null);
        assert.ok(!(await r.text()).includes(TOKEN), `${name}: no token in the body`);
      }
    } finally {
      await h.close();
    }
  });

  test("list, read, log, KV pages, and wake / sleep / destroy", async () => {
    const h = await startServer({ use: { room }, inspector: { token: TOKEN } });
    const get = async (path: string, method = "GET") => {
      const r = await fetch(`${h.url}/inspector${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: r.status, body: (await r.json()) as any };
    };
    try {
      for (const k of [["eu", "a"], ["eu", "b"], ["us", "a"]]) await h.client.room.getOrCreate(k).add(1);
      const a = h.client.room.getOrCreate(["eu", "a"]);
      const id = await a.resolve();
      for (let i = 0; i < 3; i++) await a.add(1);
      await a.fail().catch(() => {});
      await a.later();
      await a.send("inbox", { hello: 1 });
      const conn = a.connect({ params: { user: "ada", token: "conn-secret" } });
      await conn.ready();

      let list = await get("/actors?name=room");
      assert.equal(list.status, 200);
      assert.equal(list.body.actors.length, 3);
      list = await get(`/actors?name=room&keyPrefix=${encodeURIComponent(JSON.stringify(["eu"]))}`);
      assert.deepEqual(list.body.actors.map((x: { key: string[] }) => x.key).sort(), [["eu", "a"], ["eu", "b"]]);
      const page1 = await get("/actors?limit=2");
      assert.equal(page1.body.actors.length, 2);
      const page2 = await get(`/actors?limit=2&cursor=${page1.body.nextCursor}`);
      assert.equal(page2.body.actors.length, 1);

      const snap = await get(`/actors/${id}`);
      assert.equal(snap.status, 200);
      assert.deepEqual(snap.body.state, { count: 4, note: "hello" });
      assert.equal(snap.body.awake, true);
      assert.deepEqual(snap.body.vars, { type: "Object", keys: ["apiClient", "startedAt"] });
      assert.equal(snap.body.connections.length, 1);
      assert.deepEqual(snap.body.connections[0].params, { user: "ada", token: "[redacted]" });
      assert.equal(snap.body.alarms.length, 1);
      assert.deepEqual(snap.body.queues, { inbox: 1 });
      assert.deepEqual(snap.body.kv.keys, ["k1", "k2", "k3", "k4"]);
      assert.deepEqual(snap.body.sql.tables, [{ name: "items", rows: 4 }]);
      const text = JSON.stringify(snap.body);
      assert.ok(!text.includes("conn-secret") && !text.includes("do-not-show"), "no secret in the snapshot");

      const kv = await get(`/actors/${id}/kv?limit=3`);
      assert.deepEqual(kv.body.keys, ["k1", "k2", "k3"]);
      const kv2 = await get(`/actors/${id}/kv?limit=3&cursor=${kv.body.nextCursor}`);
      assert.deepEqual(kv2.body.keys, ["k4"]);
      assert.equal(kv2.body.nextCursor, undefined);

      const log = await get(`/actors/${id}/log?limit=10`);
      assert.deepEqual(log.body.calls.map((c: { action: string; outcome: string }) => `${c.action}:${c.outcome}`), ["add:ok", "add:ok", "add:ok", "add:ok", "fail:user_error", "later:ok"]);
      assert.equal(log.body.calls[4].code, "nope");

      await conn.dispose();
      assert.equal((await get(`/actors/${id}/sleep`, "POST")).status, 200);
      await waitFor(async () => (await get(`/actors/${id}`)).body.awake === false, 2000, "asleep");
      const asleep = await get(`/actors/${id}`);
      assert.deepEqual(asleep.body.state, { count: 4, note: "hello" }, "a sleeping actor is read from the store");
      assert.equal((await get("/actors?status=asleep")).body.actors.length, 1);
      assert.equal((await get("/actors?status=awake")).body.actors.length, 2);
      await get(`/actors/${id}/wake`, "POST");
      assert.equal((await get(`/actors/${id}`)).body.awake, true);
      assert.equal((await get(`/actors/${id}/destroy`, "POST")).status, 200);
      const gone = await get(`/actors/${id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, "not_found");

      assert.equal((await get("/actors?limit=9999")).status, 400);
      assert.equal((await get("/actors?keyPrefix=notjson")).status, 400);
      assert.equal((await get("/nothing")).status, 404);
    } finally {
      await h.close();
    }
  });
});
