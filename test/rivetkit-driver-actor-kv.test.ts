import assert from "node:assert/strict";
import { test } from "node:test";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-kv (tests/driver/actor-kv.test.ts): an actor's KV
// store (text values, prefix and range scans, range deletes, bytes) driven through actions of the
// real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor kv", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, ioFixtures, encoding);

  test("text values: put, get, and a prefix scan", T, async (t) => {
    const { client } = await setup(t);
    const kv = client.kvActor.getOrCreate(["kv-text"]);
    await kv.putText("greeting", "hello");
    assert.equal(await kv.getText("greeting"), "hello");
    await kv.putText("prefix-a", "alpha");
    await kv.putText("prefix-b", "beta");
    const results: Array<{ key: string; value: string }> = await kv.listText("prefix-");
    assert.deepEqual(results.sort((a, b) => a.key.localeCompare(b.key)), [
      { key: "prefix-a", value: "alpha" },
      { key: "prefix-b", value: "beta" },
    ]);
  });

  test("range scans (end exclusive, reverse with a limit) and range deletes", T, async (t) => {
    const { client } = await setup(t);
    const kv = client.kvActor.getOrCreate(["kv-range"]);
    for (const [k, v] of [["a", "alpha"], ["b", "bravo"], ["c", "charlie"], ["d", "delta"]]) await kv.putText(k, v);
    assert.deepEqual(await kv.listTextRange("b", "d"), [
      { key: "b", value: "bravo" },
      { key: "c", value: "charlie" },
    ]);
    assert.deepEqual(await kv.listTextRange("a", "d", { reverse: true, limit: 2 }), [
      { key: "c", value: "charlie" },
      { key: "b", value: "bravo" },
    ]);
    await kv.deleteTextRange("b", "d");
    assert.deepEqual(await kv.listText(""), [
      { key: "a", value: "alpha" },
      { key: "d", value: "delta" },
    ]);
  });

  test("bytes round-trip", T, async (t) => {
    const { client } = await setup(t);
    assert.deepEqual(await client.kvActor.getOrCreate(["kv-array-buffer"]).roundtripArrayBuffer("bytes", [4, 8, 15, 16, 23, 42]), [4, 8, 15, 16, 23, 42]);
  });
});
