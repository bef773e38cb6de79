import assert from "node:assert/strict";
import type { PlacementDriver } from "../../src/storage/placement.js";
import { bytes, hex, text, norm, ids, sorted, everything, sleep, type SuiteTools } from "./fixtures.js";

/** The directory, and the start and stop commands. */
export function placementCases({ it, durable, create, runtime }: SuiteTools): void {
  // ---- placement: the directory

  it("create enters an actor: its record round-trips (input too), and it has no state until a state write", async (p) => {
    const before = Date.now();
    const input = new Uint8Array([0xa1, 0x61, 0x78, 0x01, 0x00, 0xff]);
    const { record, created } = await p.placement.create({ name: "t", key: ["x", "y"], input });
    assert.equal(created, true);
    assert.ok(record.id.length > 0);
    assert.deepEqual([record.name, record.key, hex(record.input)], ["t", ["x", "y"], hex(input)]);
    // An engine's clock may differ a little from ours; a minute is generous.
    assert.ok(Math.abs(record.createdAt - before) < 60_000, `createdAt ${record.createdAt} is near ${before}`);
    assert.deepEqual(norm(await p.placement.findById(record.id)), norm(record));
    assert.deepEqual(norm(await p.placement.findByKey("t", ["x", "y"])), norm(record));
    assert.deepEqual([await p.placement.findByKey("t", ["x"]), await p.placement.findById("no-such-actor")], [undefined, undefined]);
    assert.equal(await p.storage.loadState(record.id), undefined);
    const plain = await p.placement.create({ name: "t", key: ["no-input"] });
    assert.equal((await p.placement.findById(plain.record.id))?.input, undefined);
    await p.storage.write([{ kind: "state", actorId: record.id, state: bytes("s0") }]);
    assert.equal(text(await p.storage.loadState(record.id)), "s0");
    assert.equal(await p.storage.loadState(plain.record.id), undefined);
  });

  it("create of a taken (name, key) returns the holder with created: false; another name with the same key is another actor", async (p) => {
    const first = await p.placement.create({ name: "t", key: ["k"], input: bytes("first") });
    const again = await p.placement.create({ name: "t", key: ["k"], input: bytes("second") });
    assert.equal(again.created, false);
    assert.deepEqual(norm(again.record), norm(first.record));
    assert.equal(text(again.record.input), "first");
    const other = await create(p, "u", ["k"]);
    assert.notEqual(other, first.record.id);
    assert.deepEqual([(await p.placement.findByKey("t", ["k"]))?.id, (await p.placement.findByKey("u", ["k"]))?.id], [first.record.id, other]);
    assert.deepEqual(ids(await p.placement.list({ limit: 10 })), sorted([first.record.id, other]));
  });

  it("keys with slashes, empty parts, quotes and unicode round-trip and never collide", async (p) => {
    const keys = [["a/b"], ["a", "b"], ['a","b'], ["a,b"], [""], [], ["", ""], ["", "a"], ["a", ""], ["héllo", "日本語", "🎉"], ['q"uote', "back\\slash", "\u0000nul"], ['["a"]'], ["a", "b", "c"]];
    const made = new Map<string, string>();
    for (const key of keys) made.set(JSON.stringify(key), await create(p, "t", key));
    assert.equal(new Set(made.values()).size, keys.length, "every key is its own actor");
    for (const key of keys) {
      const found = await p.placement.findByKey("t", key);
      assert.equal(found?.id, made.get(JSON.stringify(key)), `findByKey ${JSON.stringify(key)}`);
      assert.deepEqual([found?.key, (await p.placement.findById(found!.id))?.key], [key, key]);
    }
    assert.equal((await p.placement.list({ limit: 100 })).length, keys.length);
  });

  it("ten concurrent creates of one key: exactly one creates, and all get the same id", async (p) => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => p.placement.create({ name: "t", key: ["same"], input: bytes(`i${i}`) })));
    assert.equal(results.filter((r) => r.created).length, 1);
    const winner = results.find((r) => r.created)!.record;
    assert.deepEqual(new Set(results.map((r) => r.record.id)), new Set([winner.id]));
    // Everyone sees the winner's input: the losers' inputs were never entered.
    assert.deepEqual(new Set(results.map((r) => hex(r.record.input))), new Set([hex(winner.input)]));
    assert.deepEqual(ids(await p.placement.list({ name: "t", limit: 100 })), [winner.id]);
  });

  it("destroy removes the record and everything stored for it, and frees the key for a new id", async (p) => {
    const a = await create(p, "t", ["k"], bytes("in"));
    await p.storage.write(everything(a, 1));
    await p.placement.destroy(a);
    assert.deepEqual([await p.placement.findById(a), await p.placement.findByKey("t", ["k"]), await p.placement.list({ limit: 10 })], [undefined, undefined, []]);
    assert.deepEqual([await p.storage.loadState(a), await p.storage.kvGet(a, bytes("k")), await p.storage.kvList(a, {})], [undefined, undefined, []], "state and KV");
    assert.deepEqual([await p.storage.loadAlarms(), await p.storage.loadMessages(a), await p.storage.queueBacklog()], [[], [], []], "alarms and messages");
    assert.equal(await p.storage.sqlApplied(a), 0);
    const again = await p.placement.create({ name: "t", key: ["k"] });
    assert.deepEqual([again.created, again.record.id === a, again.record.input], [true, false, undefined]);
    // The new actor starts empty: nothing of the old one comes back under the key.
    assert.deepEqual([await p.storage.loadState(again.record.id), await p.storage.kvList(again.record.id, {})], [undefined, []]);
  });

  it("destroy leaves other actors' data alone, and is idempotent (twice, or an unknown id)", async (p) => {
    const a = await create(p, "t", ["a"]);
    const b = await create(p, "t", ["b"]);
    for (const [i, id] of [a, b].entries()) await p.storage.write(everything(id, i + 1));
    await p.placement.destroy(a);
    await p.placement.destroy(a);
    await p.placement.destroy("never-existed");
    assert.equal(await p.placement.findById(a), undefined);
    assert.equal((await p.placement.findByKey("t", ["b"]))?.id, b);
    assert.deepEqual([text(await p.storage.loadState(b)), text(await p.storage.kvGet(b, bytes("k"))), await p.storage.sqlApplied(b)], [`s-${b}`, b, 3]);
    assert.deepEqual((await p.storage.loadAlarms()).map((x) => x.id), [`al-${b}`]);
    assert.deepEqual((await p.storage.loadMessages(b)).map((m) => m.seq), [2]);
  });

  it("list pages by id, filtered by name, keyPrefix, afterId and limit", async (p) => {
    const t = [await create(p, "t", ["room", "1"]), await create(p, "t", ["room", "2"]), await create(p, "t", ["hall", "3"])];
    const u = [await create(p, "u", ["room", "4"]), await create(p, "u", ["hall", "5"])];
    const all = sorted([...t, ...u]);
    const list = async (q: Omit<Parameters<PlacementDriver["list"]>[0], "limit"> & { limit?: number }) => ids(await p.placement.list({ limit: 100, ...q }));
    const got = await p.placement.list({ limit: 100 });
    assert.deepEqual(ids(got), all);
    assert.ok(got.every((r) => typeof r.name === "string" && Array.isArray(r.key)), "list returns whole records");
    assert.deepEqual(await list({ name: "t" }), sorted(t));
    assert.deepEqual(await list({ name: "t", limit: 2 }), sorted(t).slice(0, 2));
    assert.deepEqual(await list({ name: "t", afterId: sorted(t)[0] }), sorted(t).slice(1));
    assert.deepEqual(await list({ afterId: all.at(-1) }), []);
    assert.deepEqual(await list({ keyPrefix: ["room"] }), sorted([t[0]!, t[1]!, u[0]!]));
    assert.deepEqual(await list({ name: "u", keyPrefix: ["room"] }), [u[0]]);
    // Paging by afterId visits every actor once, in id order.
    const pages: string[] = [];
    for (let page = await list({ limit: 2 }); page.length > 0; page = await list({ afterId: page.at(-1), limit: 2 })) {
      assert.ok(page.length <= 2);
      pages.push(...page);
    }
    assert.deepEqual(pages, all);
  });

  it("list keyPrefix matches whole parts from the left, the last part as a string prefix", async (p) => {
    // docs/INSPECTOR.md: the last part of keyPrefix matches as a string prefix.
    const k = (key: string[]) => create(p, "t", key);
    const room = await k(["room"]), roomA = await k(["room", "a"]), roomAb = await k(["room", "ab"]), roomy = await k(["roomy"]);
    const lobby = await k(["lobby", "room"]), slash = await k(["room/a"]);
    const q = async (keyPrefix: string[]) => ids(await p.placement.list({ keyPrefix, limit: 100 }));
    assert.deepEqual(await q(["room"]), sorted([room, roomA, roomAb, roomy, slash]));
    assert.deepEqual(await q(["room", "a"]), sorted([roomA, roomAb]));
    assert.deepEqual(await q(["room", ""]), sorted([roomA, roomAb]));
    assert.deepEqual(await q(["roo", "a"]), []);
    assert.deepEqual(await q(["room/"]), [slash]);
    assert.deepEqual(await q([]), sorted([room, roomA, roomAb, roomy, lobby, slash]));
  });

  // ---- placement: start and stop

  it("requestStart asks the attached runtime to start the actor and resolves only after it has", async (p) => {
    const a = await create(p, "t", ["k"]);
    const starts: string[] = [];
    let release!: () => void;
    p.placement.attach({ start: (id) => (starts.push(id), new Promise<void>((r) => (release = r))), stop: async () => {} });
    let done = false;
    const req = p.placement.requestStart(a).then(() => (done = true));
    for (const deadline = Date.now() + 2000; starts.length === 0; await sleep(5)) assert.ok(Date.now() < deadline, "the runtime's start was never called");
    await sleep(20);
    assert.equal(done, false, "requestStart resolved before start did");
    release();
    await req;
    assert.deepEqual(starts, [a]);
  });

  it("requestStart rejects with the start's error, leaves the actor hosted nowhere, and a later start works", async (p) => {
    const a = await create(p, "t", ["k"]);
    const { r, rt } = runtime();
    p.placement.attach(rt);
    r.fail = new Error("start failed: boom-7f3a");
    // A remote driver may carry the error across a wire: its message must survive.
    await assert.rejects(p.placement.requestStart(a), (e: unknown) => e instanceof Error && e.message.includes("boom-7f3a"));
    assert.equal(await p.placement.hostOf(a), undefined);
    r.fail = undefined;
    await p.placement.requestStart(a);
    assert.deepEqual(await p.placement.hostOf(a), { kind: "local" });
    assert.deepEqual(r.starts, [a, a]);
  });

  it("hostOf: nowhere before a start, local after it, nowhere after stopped() or destroy", async (p) => {
    const a = await create(p, "t", ["a"]);
    const b = await create(p, "t", ["b"]);
    p.placement.attach(runtime().rt);
    const host = () => p.placement.hostOf(a);
    assert.equal(await host(), undefined);
    await p.placement.requestStart(a);
    assert.deepEqual(await host(), { kind: "local" });
    assert.equal(await p.placement.hostOf(b), undefined, "starting a hosts only a");
    for (const reason of ["sleep", "crash"] as const) {
      p.placement.stopped(a, reason);
      assert.equal(await host(), undefined, `after stopped(${reason})`);
      await p.placement.requestStart(a);
      assert.deepEqual(await host(), { kind: "local" });
    }
    await p.placement.destroy(a);
    assert.equal(await host(), undefined, "after destroy");
  });
}
