import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore } from "../src/storage/memory-store.js";
import { SqliteStore } from "../src/storage/sqlite-store.js";
import type { ActorRecord, ActorStore, StoredAlarm, StoredMessage } from "../src/storage/types.js";
import { tempDir } from "./helpers/harness.js";

// One contract every store must keep: the embedded SQLite store and the memory store pass the
// same tests, and a store for a distributed engine will join this list.
const stores: Array<[string, () => ActorStore]> = [
  ["sqlite", () => new SqliteStore({ dataDir: tempDir("troupe-contract-"), durability: "process" })],
  ["memory", () => new MemoryStore()],
];

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const rec = (id: string, key: string[] = [id]): ActorRecord => ({ id, name: "t", key, createdAt: 1 });
const msg = (seq: number, actorId: string, queue = "q"): StoredMessage => ({ seq, actorId, queue, body: bytes(`m${seq}`), enqueuedAt: 1, attempts: 0, availableAt: 1 });
const alarm = (id: string, actorId: string): StoredAlarm => ({ id, actorId, actorName: "t", fireAt: 5, action: "a", args: bytes("[]") });

for (const [kind, make] of stores) {
  describe(`store contract: ${kind}`, () => {
    const withStore = (name: string, fn: (s: ActorStore) => Promise<void>) =>
      test(name, async () => {
        const s = make();
        await s.open();
        try {
          await fn(s);
        } finally {
          await s.close();
        }
      });

    withStore("create, find by id and by key, load and replace state", async (s) => {
      await s.write([{ kind: "create", record: rec("a", ["x", "y"]), state: bytes("s0") }]);
      assert.deepEqual(await s.findById("a"), rec("a", ["x", "y"]));
      assert.equal((await s.findByKey("t", ["x", "y"]))?.id, "a");
      assert.equal(await s.findByKey("t", ["x"]), undefined);
      await s.write([{ kind: "state", actorId: "a", state: bytes("s1") }]);
      assert.equal(Buffer.from((await s.loadState("a"))!).toString(), "s1");
    });

    withStore("a create whose key is taken is skipped, and the batch's other writes still apply", async (s) => {
      await s.write([{ kind: "create", record: rec("a", ["k"]), state: bytes("a") }]);
      await s.write([
        { kind: "create", record: rec("b", ["k"]), state: bytes("b") },
        { kind: "state", actorId: "a", state: bytes("a2") },
      ]);
      assert.equal(await s.findById("b"), undefined);
      assert.equal((await s.findByKey("t", ["k"]))?.id, "a");
      assert.equal(Buffer.from((await s.loadState("a"))!).toString(), "a2");
    });

    withStore("KV puts, deletes and lists in bytewise order, both ways, with a limit", async (s) => {
      await s.write([{ kind: "create", record: rec("a"), state: bytes("") }]);
      await s.write(["c", "a", "b", "d"].map((k) => ({ kind: "kvPut" as const, actorId: "a", key: bytes(k), value: bytes(k.toUpperCase()) })));
      await s.write([{ kind: "kvDelete", actorId: "a", key: bytes("d") }]);
      assert.equal(Buffer.from((await s.kvGet("a", bytes("b")))!).toString(), "B");
      assert.equal(await s.kvGet("a", bytes("d")), undefined);
      const keys = async (r: Parameters<ActorStore["kvList"]>[1]) => (await s.kvList("a", r)).map(([k]) => Buffer.from(k).toString()).join("");
      assert.equal(await keys({}), "abc");
      assert.equal(await keys({ reverse: true, limit: 2 }), "cb");
      assert.equal(await keys({ start: bytes("b"), end: bytes("c") }), "b");
    });

    withStore("alarms set and deleted; queue messages pushed, retried, dead-lettered and acknowledged", async (s) => {
      await s.write([{ kind: "create", record: rec("a"), state: bytes("") }]);
      await s.write([
        { kind: "alarmSet", actorId: "a", alarm: alarm("x", "a") },
        { kind: "alarmSet", actorId: "a", alarm: alarm("y", "a") },
        { kind: "queuePush", actorId: "a", message: msg(1, "a") },
        { kind: "queuePush", actorId: "a", message: msg(2, "a") },
        { kind: "queuePush", actorId: "a", message: msg(3, "a") },
      ]);
      await s.write([
        { kind: "alarmDelete", actorId: "a", alarmId: "x" },
        { kind: "queueAck", actorId: "a", seq: 1, queue: "q" },
        { kind: "queueRetry", actorId: "a", seq: 2, queue: "q", attempts: 1, availableAt: 9, dead: false },
        { kind: "queueRetry", actorId: "a", seq: 3, queue: "q", attempts: 5, availableAt: 9, dead: true },
      ]);
      assert.deepEqual((await s.loadAlarms()).map((a) => a.id), ["y"]);
      const live = await s.loadMessages("a");
      assert.deepEqual(live.map((m) => [m.seq, m.attempts, m.availableAt]), [[2, 1, 9]]);
      assert.deepEqual(await s.queueBacklog(), [{ actorId: "a", actorName: "t", queue: "q", count: 1 }]);
      assert.equal(await s.maxMessageSeq(), 3);
    });

    withStore("a message for an actor that does not exist (destroyed meanwhile) is not stored", async (s) => {
      await s.write([{ kind: "queuePush", actorId: "ghost", message: msg(7, "ghost") }]);
      assert.deepEqual(await s.loadMessages("ghost"), []);
      assert.deepEqual(await s.queueBacklog(), []);
    });

    withStore("the applied SQL redo seq only moves forward, belongs to an existing actor, and goes with it", async (s) => {
      await s.write([{ kind: "create", record: rec("a"), state: bytes("") }]);
      assert.equal(await s.sqlApplied("a"), 0);
      await s.write([{ kind: "sqlApplied", actorId: "a", seq: 3 }]);
      await s.write([{ kind: "sqlApplied", actorId: "a", seq: 2 }]);
      assert.equal(await s.sqlApplied("a"), 3);
      await s.write([{ kind: "sqlApplied", actorId: "ghost", seq: 1 }]);
      assert.equal(await s.sqlApplied("ghost"), 0);
      await s.write([{ kind: "destroy", actorId: "a" }]);
      assert.equal(await s.sqlApplied("a"), 0);
    });

    withStore("destroy removes the actor, its KV, alarms and messages, and frees its key", async (s) => {
      await s.write([{ kind: "create", record: rec("a", ["k"]), state: bytes("") }]);
      await s.write([
        { kind: "kvPut", actorId: "a", key: bytes("k"), value: bytes("v") },
        { kind: "alarmSet", actorId: "a", alarm: alarm("x", "a") },
        { kind: "queuePush", actorId: "a", message: msg(1, "a") },
      ]);
      await s.write([{ kind: "destroy", actorId: "a" }]);
      assert.equal(await s.findById("a"), undefined);
      assert.equal(await s.findByKey("t", ["k"]), undefined);
      assert.equal(await s.kvGet("a", bytes("k")), undefined);
      assert.deepEqual(await s.loadAlarms(), []);
      assert.deepEqual(await s.loadMessages("a"), []);
      await s.write([{ kind: "create", record: rec("b", ["k"]), state: bytes("") }]);
      assert.equal((await s.findByKey("t", ["k"]))?.id, "b");
    });

    withStore("an actor database keeps only what committed: a connection opened later sees no open transaction", async (s) => {
      assert.equal(s.hasActorDatabase("a"), false);
      const db = s.openActorDatabase("a");
      assert.equal(s.hasActorDatabase("a"), true);
      db.exec("CREATE TABLE t (x INTEGER)");
      s.actorDatabaseCommitted("a", db);
      db.exec("BEGIN IMMEDIATE");
      db.exec("INSERT INTO t VALUES (1)");
      db.exec("COMMIT");
      s.actorDatabaseCommitted("a", db);
      db.exec("BEGIN IMMEDIATE");
      db.exec("INSERT INTO t VALUES (2)");
      // The holder of this connection dies with its transaction open: only the commit survives.
      db.exec("ROLLBACK");
      s.releaseActorDatabase("a", db);
      const again = s.openActorDatabase("a");
      assert.deepEqual(again.prepare("SELECT x FROM t").all(), [{ x: 1 }]);
      s.releaseActorDatabase("a", again);
      assert.deepEqual(s.actorDatabaseTables("a"), [{ name: "t", rows: 1 }]);
      s.deleteActorDatabase("a");
      assert.equal(s.hasActorDatabase("a"), false);
    });

    withStore("listActors pages by id with name and key-prefix filters", async (s) => {
      await s.write(["c", "a", "b"].map((id) => ({ kind: "create" as const, record: { id, name: "t", key: ["room", id], createdAt: 1 }, state: bytes("") })));
      await s.write([{ kind: "create", record: { id: "z", name: "u", key: ["room", "z"], createdAt: 1 }, state: bytes("") }]);
      assert.deepEqual((await s.listActors({ name: "t", limit: 2 })).map((r) => r.id), ["a", "b"]);
      assert.deepEqual((await s.listActors({ name: "t", afterId: "b", limit: 10 })).map((r) => r.id), ["c"]);
      assert.deepEqual((await s.listActors({ keyPrefix: ["room"], limit: 10 })).map((r) => r.id), ["a", "b", "c", "z"]);
    });
  });
}
