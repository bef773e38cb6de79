import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { startServer, tempDir, waitFor } from "./helpers/harness.js";

const events: string[] = [];

const everything = actor({
  state: { n: 0 },
  db: { migrations: ["CREATE TABLE t (v TEXT)"] },
  queues: { inbox: {} },
  onDestroy: (c) => {
    events.push(`destroy:${c.key[0]}`);
  },
  actions: {
    fill: async (c) => {
      c.state.n = 1;
      await c.kv.put("k", "v");
      c.db.run("INSERT INTO t VALUES ('row')");
      c.schedule.after(60_000, "noop");
      return c.actorId;
    },
    noop: () => {},
    inspect: async (c) => ({
      n: c.state.n,
      kv: (await c.kv.list()).length,
      rows: c.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM t")[0]!.n,
      alarms: c.schedule.list().length,
      queued: (await c.queue.next("inbox")) === undefined ? 0 : 1,
    }),
    destroy: (c) => c.destroy(),
  },
});

test("c.destroy() removes state, KV, SQL, queue and alarms; the id is then actor/not_found", async () => {
  const dataDir = tempDir();
  const h = await startServer({ use: { everything }, storage: { driver: "sqlite", dataDir } });
  try {
    const a = h.client.everything.getOrCreate(["gone"]);
    const id = await a.fill();
    await a.send("inbox", "message");
    const dbFile = path.join(dataDir, "actors", `${id}.db`);
    assert.ok(fs.existsSync(dbFile));
    await a.destroy();
    await waitFor(() => events.includes("destroy:gone"), 2000, "onDestroy");
    await waitFor(async () => (await h.client.everything.getForId(id).inspect().then(() => false, (e: ActorError) => e.group === "actor" && e.code === "not_found")), 2000, "actor/not_found");
    assert.ok(!fs.existsSync(dbFile), "the SQL database file is removed");
    await assert.rejects(h.client.everything.getForId(id).send("inbox", 1), (e: ActorError) => e.group === "actor" && e.code === "not_found");

    // Nothing of it is left in the store.
    const db = new Database(path.join(dataDir, "troupe.db"), { readonly: true });
    try {
      for (const table of ["actors", "kv", "alarms", "queue_messages"]) {
        const col = table === "actors" ? "id" : "actor_id";
        assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`).get(id) as { n: number }).n, 0, `${table} rows left`);
      }
    } finally {
      db.close();
    }

    // The same key makes a brand-new, empty actor.
    assert.deepEqual(await h.client.everything.getOrCreate(["gone"]).inspect(), { n: 0, kv: 0, rows: 0, alarms: 0, queued: 0 });
  } finally {
    await h.close();
  }
});

let releaseDestroy: () => void = () => {};
const slowDestroy = actor({
  state: {},
  onDestroy: async () => {
    events.push("slow-destroy:begun");
    await new Promise<void>((r) => (releaseDestroy = r));
  },
  actions: {
    whoami: (c) => c.actorId,
    destroy: (c) => c.destroy(),
  },
});

test("a key whose holder is being destroyed resolves to a new actor, never to the one going", async () => {
  const h = await startServer({ use: { slowDestroy }, storage: { driver: "sqlite", dataDir: tempDir() } });
  try {
    const first = await h.client.slowDestroy.getOrCreate(["k"]).whoami();
    // Live and resolved by key from memory while nothing is happening to it.
    assert.equal(await h.client.slowDestroy.getOrCreate(["k"]).whoami(), first);
    await h.client.slowDestroy.getOrCreate(["k"]).destroy();
    await waitFor(() => events.includes("slow-destroy:begun"), 2000, "onDestroy to begin");
    const during = h.client.slowDestroy.getOrCreate(["k"]).whoami();
    const byKey = fetch(`${h.url}/gateway/slowDestroy/action/whoami?rvt-method=getOrCreate&rvt-key=k`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ args: [] }) });
    await new Promise((r) => setTimeout(r, 50));
    releaseDestroy();
    const second = await during;
    assert.notEqual(second, first, "getOrCreate during the destroy reached the actor being destroyed");
    const res = await byKey;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { output: second });
  } finally {
    await h.close();
  }
});
