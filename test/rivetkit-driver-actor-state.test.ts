import assert from "node:assert/strict";
import { test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-state (tests/driver/actor-state.test.ts): state
// kept across handles and separate per key, with the real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor state", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, connFixtures, encoding);

  test("state persists between handles to the same actor", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(await client.counter.getOrCreate().increment(5), 5);
    assert.equal(await client.counter.getOrCreate().increment(3), 8);
  });

  test("state is there for a handle made later", T, async (t) => {
    const { client } = await setup(t);
    await client.counter.getOrCreate().increment(5);
    assert.equal(await client.counter.getOrCreate().increment(0), 5);
  });

  test("actors of different keys keep separate state", T, async (t) => {
    const { client } = await setup(t);
    const a = client.counter.getOrCreate(["counter-a"]);
    const b = client.counter.getOrCreate(["counter-b"]);
    await a.increment(5);
    await b.increment(10);
    assert.equal(await a.increment(0), 5);
    assert.equal(await b.increment(0), 10);
  });
});
