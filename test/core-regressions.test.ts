import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { createAdaptorServer } from "@hono/node-server";
import WebSocket from "ws";
import { actor, setup } from "../src/index.js";
import { MemoryStore } from "../src/storage/memory-store.js";
import type { StoredAlarm } from "../src/storage/types.js";
import { parseSamples } from "./helpers/exposition.js";
import { quietLogger, sleep, startServer, tempDir, waitFor } from "./helpers/harness.js";
import { actorId, callAction, gatewayUrl } from "./helpers/wire.js";

// Bugs of the core that need a real file, a real socket or a registry's start to show; the rest
// are regressions of the simulation (test/simulation.test.ts). Each names the issue it guards.

const TOKEN = "core-regression-token";
const scrape = async (url: string) => parseSamples(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());

describe("core regressions", () => {
  test("a timed-out turn that used c.db releases its write lock at once: later writes neither block the process nor fail", async () => {
    const ledger = actor({
      state: {},
      db: { migrations: ["CREATE TABLE t (x INTEGER)"] },
      options: { actionTimeoutMs: 200 },
      actions: {
        insertThenHang: async (c) => {
          c.db.run("INSERT INTO t (x) VALUES (1)");
          await new Promise(() => {});
        },
        insert: (c, x: number) => c.db.run("INSERT INTO t (x) VALUES (?)", [x]).changes,
        rows: (c) => c.db.query<{ x: number }>("SELECT x FROM t ORDER BY x").map((r) => r.x),
      },
    });
    const s = await startServer({ use: { ledger }, storage: { dataDir: tempDir() } });
    try {
      const id = await actorId(s.url, "ledger", ["a"]);
      const hung = await callAction(s.url, id, "insertThenHang");
      assert.equal(hung.body.code, "action_timed_out");
      // A 10 ms timer measures whether the event loop is blocked by SQLite's busy wait.
      const timer = (async () => {
        const t = performance.now();
        await sleep(10);
        return performance.now() - t;
      })();
      const next = await callAction(s.url, id, "insert", [2]);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.ok((await timer) < 1000, `a 10 ms timer fired after ${await timer} ms`);
      // The abandoned turn's insert rolled back with it.
      assert.deepEqual((await callAction(s.url, id, "rows")).body.output, [2]);
    } finally {
      await s.close();
    }
  });

  test("a failed start leaves nothing half-started; /health is 200 only once alarms and the queue backlog are restored", async () => {
    let failLoads = 1;
    let releaseLoad!: () => void;
    const gate = new Promise<void>((r) => (releaseLoad = r));
    class FlakyStore extends MemoryStore {
      override async loadAlarms(): Promise<StoredAlarm[]> {
        if (failLoads-- > 0) throw new Error("alarm table unreadable");
        await gate;
        return super.loadAlarms();
      }
    }
    const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n } });
    const registry = setup({ use: { counter }, storage: new FlakyStore(), logger: quietLogger });
    const health = async () => (await registry.handler(new Request("http://x/health"))).status;
    await assert.rejects(registry.start(), /alarm table unreadable/);
    // Nothing is served from the failed start: the next use starts again from scratch.
    const pending = registry.handler(new Request("http://x/actors", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "counter", key: "k" }) }));
    await sleep(50);
    assert.equal(await health(), 503, "health is 503 while the alarms are being loaded");
    releaseLoad();
    assert.equal((await pending).status, 200);
    assert.equal(await health(), 200);
    await registry.shutdown();
  });

  test("a WebSocket that connects before the registry is ready waits for it instead of being refused", async () => {
    class SlowStore extends MemoryStore {
      override async open(): Promise<void> {
        await sleep(300);
      }
    }
    const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n } });
    const registry = setup({ use: { counter }, storage: new SlowStore(), logger: quietLogger });
    const server = createAdaptorServer({ fetch: registry.handler }) as Server;
    server.on("upgrade", (req, socket, head) => {
      if (!registry.handleUpgrade(req, socket, head)) socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // The id does not exist: the answer must be actor/not_found after the start, not server_stopping before it.
      const ws = new WebSocket(`ws://${base}/gateway/nope/connect`, ["rivet", "rivet_encoding.json"]);
      const first = await new Promise<string>((resolve, reject) => {
        ws.once("message", (d) => resolve(String(d)));
        ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
        ws.once("error", reject);
      });
      const refusal = (JSON.parse(first) as { body: { tag: string; val: { group: string; code: string } } }).body;
      assert.deepEqual([refusal.tag, refusal.val.group, refusal.val.code], ["Error", "actor", "not_found"]);
      ws.close();
    } finally {
      await registry.shutdown();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("a call that arrives while its actor is going to sleep wakes it again instead of failing with server_stopping", async () => {
    const napper = actor({
      state: { n: 0 },
      onSleep: async () => {
        await sleep(100);
      },
      actions: {
        nap: (c) => c.sleep(),
        inc: (c) => ++c.state.n,
      },
    });
    const s = await startServer({ use: { napper } });
    try {
      const id = await actorId(s.url, "napper", ["a"]);
      await callAction(s.url, id, "nap");
      const r = await callAction(s.url, id, "inc");
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.output, 1);
    } finally {
      await s.close();
    }
  });

  test("a raw WebSocket closed while its actor wakes does not pin websockets_active", async () => {
    const echo = actor({
      state: {},
      onWake: async () => {
        await sleep(200);
      },
      actions: { ping: () => "pong" },
      onWebSocket: (_c, ws) => ws.onMessage((d) => ws.send(d)),
    });
    const s = await startServer({ use: { echo }, metrics: { token: TOKEN } });
    try {
      const id = await actorId(s.url, "echo", ["a"]);
      await s.registry.start().then((m) => m.live(id) && m.stop(m.live(id)!, "sleep"));
      const ws = new WebSocket(gatewayUrl(s.url, id, "/websocket/").replace("http", "ws"), ["rivet"]);
      await new Promise((r) => ws.once("open", r));
      ws.close();
      // Let the 200 ms wake finish: the gauge used to read 0 until then and 1 forever after.
      await waitFor(() => s.registry.start().then((m) => m.live(id) !== undefined), 5000, "the actor awake");
      await sleep(100);
      const v = (await scrape(s.url)).find((x) => x.name === "troupe_actor_websockets_active");
      assert.equal(v?.value, 0);
    } finally {
      await s.close();
    }
  });
});
