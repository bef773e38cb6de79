import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { KeyFilter } from "../src/storage/key-filter.js";
import { SqliteStore } from "../src/storage/sqlite-store.js";
import type { StoreWrite } from "../src/storage/types.js";
import { tempDir } from "./helpers/harness.js";

// The directory's key filter lets a new key skip the store's lookup. It must never say "absent"
// for a key the store holds: not across its growth, not while it is still reading the stored keys.

test("the key filter never forgets a key, across its layers, and rarely claims one it never saw", () => {
  const f = new KeyFilter();
  const added = Array.from({ length: 400_000 }, (_, i) => `counter\u0000["k${i}-${randomBytes(4).toString("hex")}"]`);
  for (const s of added) f.add(s);
  for (const s of added) assert.ok(f.mightContain(s), s);
  let wrong = 0;
  for (let i = 0; i < 100_000; i++) if (f.mightContain(`counter\u0000["absent-${i}"]`)) wrong++;
  // Three layers hold 400,000 keys; each full layer answers wrongly for about 0.3% of absent keys.
  assert.ok(wrong < 2_000, `${wrong} of 100,000 absent keys looked present`);
  // Layers of 64 Ki, 256 Ki and 1 Mi keys at 12 bits each, rounded up to powers of two.
  assert.ok(f.bytes <= 8 * 400_000, `${f.bytes} bytes for 400,000 keys`);
});

/** The store's index lookups by key, counted (reached through its private statements: the
 * filter's whole point is the lookups it spares, which no public method shows). */
function countLookups(store: SqliteStore): { count: number } {
  const counter = { count: 0 };
  const stmt = (store as unknown as { stmts: { byKey: { get: (...a: unknown[]) => unknown } } }).stmts.byKey;
  const get = stmt.get.bind(stmt);
  stmt.get = (...a: unknown[]) => (counter.count++, get(...a));
  return counter;
}

const creates = (from: number, n: number): StoreWrite[] =>
  Array.from({ length: n }, (_, j) => ({ kind: "create" as const, record: { id: `id-${from + j}`, name: "counter", key: [`k${from + j}`, "x"], createdAt: 0 } }));

test("sqlite: stored keys are found while the key filter fills and after; new keys skip the index once it is full", async () => {
  const dataDir = tempDir();
  const stored = 20_000;
  const first = new SqliteStore({ dataDir });
  await first.open();
  for (let i = 0; i < stored; i += 5_000) await first.write(creates(i, 5_000));
  // Removed after they were stored: absent, and no reason for the filter to be wrong.
  await first.write([{ kind: "destroy", actorId: "id-7" }, { kind: "destroy", actorId: "id-19999" }]);
  await first.close();

  // Reopened: the filter reads the stored keys in the background, a slice at a time.
  const store = new SqliteStore({ dataDir });
  await store.open();
  const lookups = countLookups(store);
  try {
    const expect = (i: number) => (i === 7 || i === 19_999 ? undefined : `id-${i}`);
    let at = 0;
    let before = -1;
    for (let round = 0; round < 400 && before !== lookups.count; round++) {
      for (let j = 0; j < 50; j++, at = (at + 7_919) % stored) assert.equal((await store.findByKey("counter", [`k${at}`, "x"]))?.id, expect(at), `k${at} in round ${round}`);
      // Written while the filter is still reading: found from then on, filter full or not.
      if (round === 2) await store.write(creates(stored, 1));
      if (round > 2) assert.equal((await store.findByKey("counter", [`k${stored}`, "x"]))?.id, `id-${stored}`);
      before = lookups.count;
      assert.equal(await store.findByKey("counter", [`never-${round}`, "x"]), undefined);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(lookups.count, before, "keys never stored still reach the index: the filter never became ready");
    // Full now: every stored key is still found (a slice the scan skipped would lose some).
    for (let i = 0; i < stored; i++) assert.equal((await store.findByKey("counter", [`k${i}`, "x"]))?.id, expect(i));
    // Any write of a create reaches the filter, whoever made it (the driver suite writes them directly).
    await store.write(creates(stored + 2, 1));
    assert.equal((await store.findByKey("counter", [`k${stored + 2}`, "x"]))?.id, `id-${stored + 2}`);
    // And a batch refused as a whole (a taken key) leaves the filter with a harmless extra "maybe".
    await assert.rejects(async () => store.write([{ kind: "create", record: { id: "dup", name: "counter", key: ["k1", "x"], createdAt: 0 }, exclusive: true }, ...creates(stored + 1, 1)]));
    assert.equal(await store.findByKey("counter", [`k${stored + 1}`, "x"]), undefined);
  } finally {
    await store.close();
  }
});
