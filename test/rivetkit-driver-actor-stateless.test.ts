import assert from "node:assert/strict";
import { test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-stateless (tests/driver/actor-stateless.test.ts):
// an actor that declares no state, called with the real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor stateless", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, actionFixtures, encoding);

  test("actions run on an actor without state", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(await client.statelessActor.getOrCreate().ping(), "pong");
  });

  test("arguments come back unchanged", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(await client.statelessActor.getOrCreate().echo("Hello, World!"), "Hello, World!");
  });

  test("c.actorId is a string", T, async (t) => {
    const { client } = await setup(t);
    assert.equal(typeof (await client.statelessActor.getOrCreate(["test-id"]).getActorId()), "string");
  });

  // RivetKit throws StateNotEnabled when an actor without state reads c.state.
  test("reading c.state throws an error that names state", T, async (t) => {
    const { client } = await setup(t);
    const result = await client.statelessActor.getOrCreate().tryGetState();
    assert.equal(result.success, false);
    assert.ok(String(result.error).includes("state"), JSON.stringify(result));
  });

  // RivetKit throws DatabaseNotEnabled when an actor without a database reads c.db.
  test("reading c.db throws an error that names the database", T, async (t) => {
    const { client } = await setup(t);
    const result = await client.statelessActor.getOrCreate().tryGetDb();
    assert.equal(result.success, false);
    assert.ok(String(result.error).includes("database"), JSON.stringify(result));
  });

  test("two stateless actors have different ids", T, async (t) => {
    const { client } = await setup(t);
    const id1 = await client.statelessActor.getOrCreate(["actor-1"]).getActorId();
    const id2 = await client.statelessActor.getOrCreate(["actor-2"]).getActorId();
    assert.notEqual(id1, id2);
  });
});
