import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { GatedStore } from "./helpers/gated-store.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
import { sleep, startServer, waitFor } from "./helpers/harness.js";

const TOKEN = "kv-test-token";

const store = actor({
  state: { writes: 0 },
  actions: {
    put: async (c, key: string, value: unknown) => {
      await c.kv.put(key, value);
      c.state.writes += 1;
      return true;
    },
    get: (c, key: string) => c.kv.get(key),
    del: async (c, key: string) => {
      await c.kv.delete(key);
      return true;
    },
    putBytesKey: async (c, bytes: number[], value: unknown) => {
      await c.kv.put(new Uint8Array(bytes), value);
      return true;
    },
    list: async (c, opts: { prefix?: string; start?: string; end?: string; limit?: number; reverse?: boolean }) =>
      (await c.kv.list(opts)).map(([k, v]) => [typeof k === "string" ? k : `bytes:${[...k].join(",")}`, v]),
    batch: async (c, entries: Array<[string, unknown]>) => {
      await c.kv.putBatch(entries);
      return c.kv.getBatch(entries.map(([k]) => k));
    },
    delBatch: async (c, keys: string[]) => {
      await c.kv.deleteBatch(keys);
      return c.kv.getBatch(keys);
    },
    putThenThrow: async (c, key: string) => {
      await c.kv.put(key, "should vanish");
      throw new Error("after the write");
    },
    readOwnWrite: async (c, key: string) => {
      await c.kv.put(key, "fresh");
      const seen = await c.kv.get(key);
      const listed = await c.kv.list({ prefix: key });
      return { seen, listed: listed.length };
    },
    putRaw: async (c, key: unknown, value: unknown) => {
      await c.kv.put(key as string, value);
      return true;
    },
  },
});

describe("c.kv over real HTTP", () => {
  let h: Awaited<ReturnType<typeof startServer<{ store: typeof store }>>>;
  let gated: GatedStore;
  before(async () => {
    gated = new GatedStore();
    h = await startServer({ use: { store }, storage: gated, metrics: { token: TOKEN } });
  });
  after(() => h.close());

  test("put, get, delete; values keep their CBOR types", async () => {
    const a = h.client.store.getOrCreate(["a"]);
    await a.put("n", 42);
    await a.put("o", { nested: [1, "two"] });
    assert.equal(await a.get("n"), 42);
    assert.deepEqual(await a.get("o"), { nested: [1, "two"] });
    assert.equal(await a.get("missing"), undefined);
    await a.del("n");
    assert.equal(await a.get("n"), undefined);
    assert.equal(await h.client.store.getOrCreate(["b"]).get("o"), undefined, "another actor's KV is separate");
  });

  test("list in key order with prefix, start, end, limit and reverse; byte keys sort first", async () => {
    const a = h.client.store.getOrCreate(["list"]);
    for (const k of ["user:3", "user:1", "user:2", "item:1", "user:10"]) await a.put(k, k.toUpperCase());
    await a.putBytesKey([1, 2], "b");
    assert.deepEqual((await a.list({ prefix: "user:" })).map(([k]) => k), ["user:1", "user:10", "user:2", "user:3"]);
    assert.deepEqual((await a.list({ prefix: "user:", reverse: true, limit: 2 })).map(([k]) => k), ["user:3", "user:2"]);
    assert.deepEqual((await a.list({ start: "user:1", end: "user:2" })).map(([k]) => k), ["user:1", "user:10"]);
    assert.deepEqual((await a.list({})).map(([k]) => k), ["bytes:1,2", "item:1", "user:1", "user:10", "user:2", "user:3"]);
    assert.deepEqual((await a.list({ prefix: "item" }))[0], ["item:1", "ITEM:1"]);
  });

  test("batches", async () => {
    const a = h.client.store.getOrCreate(["batch"]);
    assert.deepEqual(await a.batch([["x", 1], ["y", 2]]), [1, 2]);
    // The wire's `$Undefined` tag carries undefined items in an array as they are.
    assert.deepEqual(await a.delBatch(["x", "y"]), [undefined, undefined]);
  });

  test("reads see the actor's own uncommitted writes; a throwing action leaves no write", async () => {
    const a = h.client.store.getOrCreate(["own"]);
    assert.deepEqual(await a.readOwnWrite("k1"), { seen: "fresh", listed: 1 });
    await assert.rejects(a.putThenThrow("gone"));
    assert.equal(await a.get("gone"), undefined);
  });

  test("writes obey the output gate and commit with the state in one batch", async () => {
    const a = h.client.store.getOrCreate(["gate"]);
    await a.put("warm", 1);
    gated.hold();
    let replied = false;
    const reply = a.put("k", "v").then(() => (replied = true));
    await waitFor(() => gated.waitingCount === 1, 2000, "commit started");
    await sleep(50);
    assert.equal(replied, false, "no reply before the KV write is durable");
    gated.release();
    await reply;
    const last = gated.committed.at(-1)!;
    assert.deepEqual(last.map((w) => w.kind).sort(), ["kvPut", "state"]);
  });

  test("stated limits give clear errors", async () => {
    const a = h.client.store.getOrCreate(["limits"]);
    await assert.rejects(a.put("big", "x".repeat(200 * 1024)), (e: ActorError) => e.code === "kv_limit_exceeded" && /131072/.test(e.message));
    await assert.rejects(a.put("k".repeat(3000), 1), (e: ActorError) => e.code === "kv_limit_exceeded" && /2048/.test(e.message));
    await assert.rejects(a.batch(Array.from({ length: 129 }, (_, i) => [`k${i}`, i] as [string, unknown])), (e: ActorError) => e.code === "kv_limit_exceeded" && /128/.test(e.message));
    await assert.rejects(a.list({ limit: 20_000 }), (e: ActorError) => e.code === "kv_limit_exceeded");
    await assert.rejects(a.putRaw(42, 1), (e: ActorError) => e.code === "kv_limit_exceeded" && /strings or Uint8Arrays/.test(e.message));
    assert.equal(await a.get("big"), undefined);
  });

  test("kv metrics count each operation by op", async () => {
    const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const s = parseSamples(await res.text());
    const ops = (op: string) => sampleValue(s, "troupe_actor_kv_operations_total", { actor_name: "store", op });
    // Ground truth from the tests above (they run in order in this file).
    assert.equal(ops("put_batch"), 2, "one ok, one refused for size: refused calls count too");
    assert.equal(ops("get_batch"), 2);
    assert.equal(ops("delete_batch"), 1);
    assert.equal(ops("delete"), 1);
    assert.equal(ops("list"), 7);
    assert.equal(sampleValue(s, "troupe_actor_kv_operation_duration_seconds_count", { actor_name: "store", op: "list" }), 7);
  });
});
