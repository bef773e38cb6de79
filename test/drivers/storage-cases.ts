import assert from "node:assert/strict";
import type { KvRange } from "../../src/storage/types.js";
import { bytes, hex, text, norm, ids, sorted, msg, push, alarm, everything, commit, rows, withDb, type SuiteTools } from "./fixtures.js";

/** State, KV, alarms, queues, SQL databases, and durability across a reopen. */
export function storageCases({ it, durable, create, runtime }: SuiteTools): void {
  // ---- storage

  it("a state write replaces the state; a state write for an actor that does not exist is not stored", async (p) => {
    const a = await create(p, "t", ["k"]);
    await p.storage.write([{ kind: "state", actorId: a, state: bytes("s1") }]);
    await p.storage.write([{ kind: "state", actorId: a, state: bytes("s2") }]);
    assert.equal(text(await p.storage.loadState(a)), "s2");
    // A turn that commits after its actor was destroyed must not bring it back.
    await p.placement.destroy(a);
    await p.storage.write([{ kind: "state", actorId: a, state: bytes("late") }, { kind: "state", actorId: "ghost", state: bytes("g") }]);
    assert.deepEqual([await p.storage.loadState(a), await p.placement.findById(a), await p.storage.loadState("ghost")], [undefined, undefined, undefined]);
  });

  it("an entry committed with its first turn (an exclusive create) lands with its state, and a taken key refuses the whole batch", async (p) => {
    const holder = await create(p, "t", ["taken"]);
    const entry = (id: string, key: string) => ({ kind: "create" as const, record: { id, name: "t", key: [key], createdAt: 1 }, exclusive: true as const });
    await p.storage.write([entry("new1", "free"), { kind: "state", actorId: "new1", state: bytes("first") }]);
    assert.equal(text(await p.storage.loadState("new1")), "first", "the state written after its entry in one batch is stored");
    assert.equal((await p.placement.findByKey("t", ["free"]))?.id, "new1");
    const other = await create(p, "t", ["other"]);
    await assert.rejects(async () => p.storage.write([{ kind: "state", actorId: other, state: bytes("o") }, entry("new2", "taken"), { kind: "state", actorId: "new2", state: bytes("x") }]));
    assert.equal((await p.placement.findByKey("t", ["taken"]))?.id, holder, "the holder keeps its key");
    assert.deepEqual([await p.placement.findById("new2"), await p.storage.loadState(other)], [undefined, undefined], "nothing of the refused batch landed");
    // A key freed earlier in the same batch can be taken by an exclusive entry.
    await p.storage.write([{ kind: "destroy", actorId: holder }, entry("new3", "taken")]);
    assert.equal((await p.placement.findByKey("t", ["taken"]))?.id, "new3");
  });

  it("one batch with writes for several actors lands together", async (p) => {
    const actors = [await create(p, "t", ["a"]), await create(p, "t", ["b"]), await create(p, "u", ["c"])];
    await p.storage.write(actors.flatMap((id, i) => everything(id, i + 1)));
    for (const [i, id] of actors.entries()) {
      assert.deepEqual([text(await p.storage.loadState(id)), text(await p.storage.kvGet(id, bytes("k"))), await p.storage.sqlApplied(id)], [`s-${id}`, id, 3]);
      assert.deepEqual((await p.storage.loadMessages(id)).map((m) => m.seq), [i + 1]);
    }
    assert.deepEqual(sorted((await p.storage.loadAlarms()).map((x) => x.id)), sorted(actors.map((id) => `al-${id}`)));
  });

  it("KV puts, overwrites and deletes, and lists in bytewise order", async (p) => {
    const a = await create(p, "t", ["k"]);
    const b = (...xs: number[]) => new Uint8Array(xs);
    // Bytewise: 00 < 61 < 61 00 < 62 < c3 a9 < ff (not the order of any text collation).
    const keys = [b(0xff), b(0x62), b(0x61, 0x00), b(0x00), b(0xc3, 0xa9), b(0x61)];
    await p.storage.write(keys.map((key) => ({ kind: "kvPut" as const, actorId: a, key, value: bytes(`v${hex(key)}`) })));
    await p.storage.write([{ kind: "kvPut", actorId: a, key: b(0x62), value: bytes("new") }, { kind: "kvDelete", actorId: a, key: b(0xc3, 0xa9) }]);
    assert.deepEqual([text(await p.storage.kvGet(a, b(0x62))), text(await p.storage.kvGet(a, b(0x61, 0x00)))], ["new", "v6100"]);
    assert.deepEqual([await p.storage.kvGet(a, b(0xc3, 0xa9)), await p.storage.kvGet(a, b(0x63))], [undefined, undefined]);
    const list = await p.storage.kvList(a, {});
    assert.deepEqual(list.map(([k]) => hex(k)), ["00", "61", "6100", "62", "ff"]);
    assert.deepEqual(list.map(([, v]) => text(v)), ["v00", "v61", "v6100", "new", "vff"]);
  });

  it("KV lists reverse, with a limit, within [start, end); each actor has its own KV", async (p) => {
    const a = await create(p, "t", ["a"]);
    const b = await create(p, "t", ["b"]);
    await p.storage.write(["a", "b", "c", "d", "e"].map((k) => ({ kind: "kvPut" as const, actorId: a, key: bytes(k), value: bytes(k) })));
    await p.storage.write([{ kind: "kvPut", actorId: b, key: bytes("c"), value: bytes("bc") }]);
    const keys = async (id: string, r: KvRange) => (await p.storage.kvList(id, r)).map(([k]) => text(k)).join("");
    assert.equal(await keys(a, { reverse: true }), "edcba");
    assert.equal(await keys(a, { limit: 2 }), "ab");
    assert.equal(await keys(a, { reverse: true, limit: 2 }), "ed");
    assert.equal(await keys(a, { start: bytes("b"), end: bytes("d") }), "bc");
    assert.equal(await keys(a, { start: bytes("b"), end: bytes("e"), reverse: true, limit: 2 }), "dc");
    assert.equal(await keys(a, { start: bytes("bb") }), "cde");
    assert.equal(await keys(a, { end: bytes("b") }), "a");
    assert.equal(await keys(b, {}), "c");
    assert.deepEqual([text(await p.storage.kvGet(b, bytes("c"))), await p.storage.kvGet(b, bytes("a"))], ["bc", undefined]);
  });

  it("alarms are set, replaced by id, deleted, and load with every field", async (p) => {
    const a = await create(p, "t", ["k"]);
    assert.deepEqual(await p.storage.loadAlarms(), []);
    await p.storage.write([{ kind: "alarmSet", actorId: a, alarm: alarm("x", a) }, { kind: "alarmSet", actorId: a, alarm: alarm("y", a) }]);
    await p.storage.write([{ kind: "alarmSet", actorId: a, alarm: alarm("y", a, 77) }, { kind: "alarmDelete", actorId: a, alarmId: "x" }]);
    const loaded = await p.storage.loadAlarms();
    assert.deepEqual(loaded.map((x) => ({ ...x, args: text(x.args) })), [{ id: "y", actorId: a, actorName: "t", fireAt: 77, action: "tick", args: "[y]" }]);
  });

  it("queue: push, ack, retry and dead-letter; loadMessages lists the live messages in seq order", async (p) => {
    const a = await create(p, "t", ["k"]);
    // Pushed out of order: loadMessages sorts by seq.
    await p.storage.write([5, 2, 3, 1, 4].map((s) => push(msg(s, a, s === 4 ? "other" : "q"))));
    await p.storage.write([
      { kind: "queueAck", actorId: a, seq: 1, queue: "q" },
      { kind: "queueRetry", actorId: a, seq: 2, queue: "q", attempts: 1, availableAt: 999, dead: false },
      { kind: "queueRetry", actorId: a, seq: 3, queue: "q", attempts: 5, availableAt: 999, dead: true },
    ]);
    const live = await p.storage.loadMessages(a);
    assert.deepEqual(live.map((m) => m.seq), [2, 4, 5]);
    assert.deepEqual(live.map((m) => ({ ...m, body: text(m.body) })), [
      { seq: 2, actorId: a, queue: "q", body: "m2", enqueuedAt: 102, attempts: 1, availableAt: 999 },
      { seq: 4, actorId: a, queue: "other", body: "m4", enqueuedAt: 104, attempts: 0, availableAt: 204 },
      { seq: 5, actorId: a, queue: "q", body: "m5", enqueuedAt: 105, attempts: 0, availableAt: 205 },
    ]);
  });

  it("queueBacklog counts live messages per actor and queue; maxMessageSeq covers every stored message", async (p) => {
    assert.equal(await p.storage.maxMessageSeq(), 0);
    const a = await create(p, "t", ["a"]);
    const b = await create(p, "u", ["b"]);
    await p.storage.write([msg(1, a), msg(2, a), msg(3, a, "other"), msg(4, b), msg(9, b)].map(push));
    await p.storage.write([{ kind: "queueRetry", actorId: b, seq: 9, queue: "q", attempts: 3, availableAt: 1, dead: true }]);
    // The order of queueBacklog is not part of the contract.
    const order = <T extends { actorId: string; queue: string }>(xs: T[]) => xs.sort((x, y) => (`${x.actorId} ${x.queue}` < `${y.actorId} ${y.queue}` ? -1 : 1));
    assert.deepEqual(order(await p.storage.queueBacklog()), order([
      { actorId: a, actorName: "t", queue: "other", count: 1 },
      { actorId: a, actorName: "t", queue: "q", count: 2 },
      { actorId: b, actorName: "u", queue: "q", count: 1 },
    ]));
    // The dead letter is still stored: a new message must sort after it.
    assert.ok((await p.storage.maxMessageSeq()) >= 9);
  });

  it("a queue push for an actor that does not exist (never, or destroyed) is not stored", async (p) => {
    const a = await create(p, "t", ["k"]);
    await p.placement.destroy(a);
    await p.storage.write([push(msg(7, "ghost")), push(msg(8, a))]);
    assert.deepEqual([await p.storage.loadMessages("ghost"), await p.storage.loadMessages(a), await p.storage.queueBacklog()], [[], [], []]);
  });

  it("KV entries and alarms for an actor that does not exist (never, or destroyed) are not stored", async (p) => {
    const a = await create(p, "t", ["k"]);
    await p.placement.destroy(a);
    await p.storage.write([...everything("ghost", 7), ...everything(a, 8)]);
    assert.equal(await p.storage.kvGet("ghost", bytes("k")), undefined);
    assert.equal(await p.storage.kvGet(a, bytes("k")), undefined);
    assert.deepEqual(await p.storage.kvList(a, {}), []);
    // An orphan alarm would come back from loadAlarms on every restart.
    assert.deepEqual(await p.storage.loadAlarms(), []);
  });

  it("sqlApplied only moves forward and belongs to an existing actor", async (p) => {
    const a = await create(p, "t", ["k"]);
    assert.equal(await p.storage.sqlApplied(a), 0);
    for (const [seq, expected] of [[3, 3], [2, 3], [5, 5]] as const) {
      await p.storage.write([{ kind: "sqlApplied", actorId: a, seq }]);
      assert.equal(await p.storage.sqlApplied(a), expected, `after applying ${seq}`);
    }
    await p.storage.write([{ kind: "sqlApplied", actorId: "ghost", seq: 1 }]);
    assert.equal(await p.storage.sqlApplied("ghost"), 0);
  });

  // ---- storage: SQL databases

  it("an actor database keeps what committed: rolled-back and unfinished transactions are gone on the next open", async (p) => {
    const a = await create(p, "t", ["k"]);
    assert.equal(await p.storage.hasDatabase(a), false);
    await withDb(p, a, async (db) => {
      assert.equal(await p.storage.hasDatabase(a), true);
      commit(db, "CREATE TABLE t (x INTEGER)");
      commit(db, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1); COMMIT");
      db.connection.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (2); ROLLBACK");
      // The holder dies with a transaction open: closing its handle must not keep it.
      db.connection.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (3)");
      assert.equal(db.connection.inTransaction, true);
    });
    assert.deepEqual(await withDb(p, a, (db) => rows(db, "SELECT x FROM t ORDER BY x")), [{ x: 1 }]);
  });

  it("databaseTables lists tables with row counts; each actor has its own database; deleteDatabase removes it", async (p) => {
    const a = await create(p, "t", ["a"]);
    const b = await create(p, "t", ["b"]);
    assert.deepEqual(await p.storage.databaseTables(a), []);
    await withDb(p, a, (db) => {
      commit(db, "CREATE TABLE items (x INTEGER); CREATE TABLE empty (y TEXT)");
      commit(db, "BEGIN; INSERT INTO items VALUES (1), (2), (3); COMMIT");
    });
    const tables = (await p.storage.databaseTables(a)).sort((x, y) => (x.name < y.name ? -1 : 1));
    assert.deepEqual(tables, [{ name: "empty", rows: 0 }, { name: "items", rows: 3 }]);
    assert.deepEqual([await p.storage.hasDatabase(b), await p.storage.databaseTables(b)], [false, []]);
    await p.storage.deleteDatabase(a);
    assert.deepEqual([await p.storage.hasDatabase(a), await p.storage.databaseTables(a)], [false, []]);
    // Opened again after the delete, it starts empty.
    assert.deepEqual(await withDb(p, a, (db) => rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")), []);
  });

  // ---- durability

  durable(
    "after close and reopen, records, state, KV, alarms, messages and the applied seq survive",
    async (p) => {
      const a = (await p.placement.create({ name: "t", key: ["k", "ü/2"], input: bytes("in") })).record;
      const gone = await create(p, "t", ["gone"]);
      await p.placement.destroy(gone);
      await p.storage.write([...everything(a.id, 1), push(msg(2, a.id))]);
      await p.storage.write([{ kind: "queueRetry", actorId: a.id, seq: 2, queue: "q", attempts: 5, availableAt: 9, dead: true }]);
      return { a, gone };
    },
    async (p, { a, gone }) => {
      assert.deepEqual(norm(await p.placement.findById(a.id)), norm(a));
      assert.deepEqual(norm(await p.placement.findByKey("t", ["k", "ü/2"])), norm(a));
      assert.deepEqual(ids(await p.placement.list({ limit: 10 })), [a.id]);
      assert.equal(await p.placement.findById(gone), undefined);
      assert.equal(text(await p.storage.loadState(a.id)), `s-${a.id}`);
      assert.deepEqual((await p.storage.kvList(a.id, {})).map(([k, v]) => [text(k), text(v)]), [["k", a.id]]);
      assert.deepEqual((await p.storage.loadAlarms()).map((x) => ({ ...x, args: text(x.args) })), [{ ...alarm(`al-${a.id}`, a.id), args: `[al-${a.id}]` }]);
      assert.deepEqual((await p.storage.loadMessages(a.id)).map((m) => m.seq), [1]);
      assert.ok((await p.storage.maxMessageSeq()) >= 2, "the dead letter survives too");
      assert.equal(await p.storage.sqlApplied(a.id), 3);
      // The key stays taken across the restart.
      const again = await p.placement.create({ name: "t", key: ["k", "ü/2"] });
      assert.deepEqual([again.created, again.record.id], [false, a.id]);
    },
  );

  durable(
    "after close and reopen, committed SQL rows survive",
    async (p) => {
      const a = await create(p, "t", ["k"]);
      await withDb(p, a, (db) => {
        commit(db, "CREATE TABLE t (x INTEGER)");
        commit(db, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1), (2); COMMIT");
      });
      return a;
    },
    async (p, a) => {
      assert.equal(await p.storage.hasDatabase(a), true);
      assert.deepEqual(await p.storage.databaseTables(a), [{ name: "t", rows: 2 }]);
      assert.deepEqual(await withDb(p, a, (db) => rows(db, "SELECT x FROM t ORDER BY x")), [{ x: 1 }, { x: 2 }]);
    },
  );
}
