import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
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
});
