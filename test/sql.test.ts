import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
import { MemoryStore } from "../src/storage/memory-store.js";
import type { StoreWrite } from "../src/storage/types.js";
import { startServer, tempDir, waitFor } from "./helpers/harness.js";

const TOKEN = "sql-test-token";

const notes = actor({
  state: {},
  db: {
    migrations: [
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)",
      "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'",
    ],
  },
  actions: {
    add: (c, body: string, tag?: string) => c.db.run("INSERT INTO notes (body, tag) VALUES (?, ?)", [body, tag ?? "none"]),
    addNamed: (c, body: string) => c.db.run("INSERT INTO notes (body) VALUES (:body)", { body }),
    all: (c) => c.db.query<{ id: number; body: string; tag: string }>("SELECT id, body, tag FROM notes ORDER BY id"),
    version: (c) => c.db.query<{ user_version: number }>("PRAGMA user_version")[0]!.user_version,
    addMany: (c, bodies: string[]) =>
      c.db.transaction(() => {
        for (const b of bodies) c.db.run("INSERT INTO notes (body) VALUES (?)", [b]);
        return bodies.length;
      }),
    addThenThrow: (c, body: string) => {
      c.db.run("INSERT INTO notes (body) VALUES (?)", [body]);
      throw new Error("after the insert");
    },
    raw: (c, sql: string) => c.db.query(sql),
    exec: (c, sql: string) => {
      c.db.exec(sql);
      return true;
    },
    destroy: (c) => c.destroy(),
  },
});

// A queue handler whose turn ran SQL: its outcome is durable once its SQL commit (with the redo) is.
const ledger = actor({
  state: {},
  db: { migrations: ["CREATE TABLE entries (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"] },
  queues: {
    entries: (c, body: string) => c.db.run("INSERT INTO entries (body) VALUES (?)", [body]).lastInsertRowid,
  },
  actions: {
    count: (c) => c.db.query<{ n: number }>("SELECT count(*) AS n FROM entries")[0]!.n,
  },
});

/** Holds, then refuses, the store's apply of a SQL handler's turn (its redo seq with the message's ack). */
class RefusingApplyStore extends MemoryStore {
  private held: Array<() => void> | undefined;
  holdApplies(): void {
    this.held = [];
  }
  get heldCount(): number {
    return this.held?.length ?? 0;
  }
  refuseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const r of held) r();
  }
  override async write(batch: readonly StoreWrite[]): Promise<void> {
    // Only the handler's apply: an earlier SQL turn's may still be landing when the hold begins.
    if (this.held && batch.some((w) => w.kind === "sqlApplied") && batch.some((w) => w.kind === "queueAck")) {
      await new Promise<void>((r) => this.held!.push(r));
      throw new Error("simulated refused apply");
    }
    await super.write(batch);
  }
}

describe("c.db over real HTTP", () => {
  test("migrations, run/query with positional and named params, transactions, typed errors, isolation", async () => {
    const dataDir = tempDir();
    const h = await startServer({ use: { notes }, storage: { driver: "sqlite", dataDir }, metrics: { token: TOKEN } });
    try {
      const a = h.client.notes.getOrCreate(["a"]);
      assert.equal(await a.version(), 2, "both migrations applied, version tracked");
      assert.deepEqual(await a.add("first", "x"), { changes: 1, lastInsertRowid: 1 });
      assert.deepEqual(await a.addNamed("second"), { changes: 1, lastInsertRowid: 2 });
      assert.equal(await a.addMany(["m1", "m2", "m3"]), 3);
      assert.deepEqual((await a.all()).map((r) => [r.body, r.tag]), [["first", "x"], ["second", "none"], ["m1", "none"], ["m2", "none"], ["m3", "none"]]);

      // A failing transaction keeps nothing of itself; the error is typed.
      await assert.rejects(a.addMany(["m4", "first"]), (e: ActorError) => e.code === "sql_error" && /UNIQUE/.test(e.message) && (e.metadata as { sqliteCode: string }).sqliteCode === "SQLITE_CONSTRAINT_UNIQUE");
      assert.equal((await a.all()).length, 5);
      // A throwing action rolls back its statements.
      await assert.rejects(a.addThenThrow("ghost"));
      assert.ok(!(await a.all()).some((r) => r.body === "ghost"));
      await assert.rejects(a.raw("SELECT * FROM nowhere"), (e: ActorError) => e.code === "sql_error" && /no such table/.test(e.message));
      await assert.rejects(a.raw("SELEKT 1"), (e: ActorError) => e.code === "sql_error");

      // One actor cannot reach another's database.
      const b = h.client.notes.getOrCreate(["b"]);
      assert.deepEqual(await b.all(), []);
      const aId = await a.resolve();
      const aFile = path.join(dataDir, "actors", `${aId}.db`);
      assert.ok(fs.existsSync(aFile));
      await assert.rejects(b.exec(`ATTACH DATABASE '${aFile}' AS other`), (e: ActorError) => e.code === "sql_forbidden");
      await assert.rejects(b.exec(`VACUUM INTO '/tmp/stolen.db'`), (e: ActorError) => e.code === "sql_forbidden");

      const s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      const st = (kind: string, outcome: string) => sampleValue(s, "troupe_actor_sql_statements_total", { actor_name: "notes", kind, outcome });
      assert.equal(st("insert", "ok"), 7, "first, second, m1-m3, m4 (ok before the unique failure), ghost");
      assert.equal(st("insert", "error"), 1);
      assert.equal(st("select", "ok"), 4, "three all() on a, one on b");
      assert.equal(st("select", "error"), 1);
      assert.equal(st("other", "ok"), 1, "the PRAGMA user_version read");
      assert.equal(st("other", "error"), 3, "SELEKT, ATTACH and VACUUM INTO");
      assert.equal(sampleValue(s, "troupe_actor_sql_statement_duration_seconds_count", { actor_name: "notes", kind: "insert" }), 8);

      // Destroy removes the database file.
      await a.destroy();
      await waitFor(() => !fs.existsSync(aFile), 3000, "database removed");
    } finally {
      await h.close();
    }
  });

  test("the database survives sleep and a server restart", async () => {
    const dataDir = tempDir();
    let h = await startServer({ use: { notes }, storage: { driver: "sqlite", dataDir } });
    try {
      await h.client.notes.getOrCreate(["p"]).add("kept");
    } finally {
      await h.close();
    }
    h = await startServer({ use: { notes }, storage: { driver: "sqlite", dataDir } });
    try {
      assert.deepEqual((await h.client.notes.getOrCreate(["p"]).all()).map((r) => r.body), ["kept"]);
      assert.equal(await h.client.notes.getOrCreate(["p"]).version(), 2, "migrations do not run twice");
    } finally {
      await h.close();
    }
  });

  test("a sender waiting on a SQL handler hears once the SQL commit is durable, not when the store applies it", async () => {
    const store = new RefusingApplyStore();
    const h = await startServer({ use: { ledger }, storage: store, metrics: { token: TOKEN } });
    try {
      const a = h.client.ledger.getOrCreate(["l"]);
      assert.equal(await a.count(), 0);
      // The store neither applies nor refuses yet: the sender used to wait on it.
      store.holdApplies();
      const sent = await a.send("entries", "first", { wait: true, timeoutMs: 5000 });
      assert.equal(sent.output, 1, "the handler's output, told while the store still holds the apply");
      await waitFor(() => store.heldCount === 1, 5000, "the store's apply reached the store and is held");
      // Now the store refuses the apply: the instance restarts and the next wake applies the redo.
      store.refuseHeld();
      await waitFor(async () => (await a.count()) === 1, 5000, "the entry is there once, after the redo is applied");
      const samples = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(samples, "troupe_actor_queue_depth", { actor_name: "ledger", queue: "entries" }), 0, "handled once: depth back to zero");
    } finally {
      store.refuseHeld();
      await h.close();
    }
  });
});
