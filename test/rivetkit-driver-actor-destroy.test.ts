import assert from "node:assert/strict";
import { test } from "node:test";
import { destroyFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, nextJson, rejection, setupDriverTest, waitUntil } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-destroy (tests/driver/actor-destroy.test.ts):
// destroying an actor with an action calling c.destroy(), what the real rivetkit 2.3.19 client
// then sees by id and by key, and how stale handles reach the recreated actor. The abort-signal
// case is not ported (Troupe's context has no abort signal).

/** Waits for onDestroy to have reported, then for the id to answer actor/not_found. */
async function waitForActorDestroyed(client: any, key: string, actorId: string): Promise<void> {
  const observer = client.destroyObserver.getOrCreate(["observer"]);
  await waitUntil(async () => assert.ok(await observer.wasDestroyed(key), "onDestroy not called"));
  await waitUntil(async () => {
    const err = await rejection(client.destroyActor.getForId(actorId).getValue());
    assert.deepEqual([err.group, err.code], ["actor", "not_found"]);
  });
}

/** The actor is gone by id and by key, and getOrCreate makes a fresh one. */
async function expectGoneThenFresh(client: any, key: string, actorId: string): Promise<void> {
  const byId = await rejection(client.destroyActor.getForId(actorId).getValue());
  assert.deepEqual([byId.group, byId.code], ["actor", "not_found"]);
  const byKey = await rejection(client.destroyActor.get([key]).resolve());
  assert.deepEqual([byKey.group, byKey.code], ["actor", "not_found"]);
  assert.equal(await client.destroyActor.getOrCreate([key]).getValue(), 0);
}

describeDriverMatrix("RivetKit driver: actor destroy", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, destroyFixtures, encoding);

  test("destroy clears the state (stateless calls)", T, async (t) => {
    const { client } = await setup(t);
    const key = "test-destroy-without-connect";
    await client.destroyObserver.getOrCreate(["observer"]).reset();
    const actor = client.destroyActor.getOrCreate([key]);
    await actor.setValue(42);
    assert.equal(await actor.getValue(), 42);
    const actorId = await actor.resolve();
    await actor.destroy();
    await waitForActorDestroyed(client, key, actorId);
    await expectGoneThenFresh(client, key, actorId);
  });

  test("destroy clears vars: the recreated actor builds them afresh", T, async (t) => {
    const { client } = await setup(t);
    const key = "test-destroy-clears-ephemeral-vars";
    const actor = client.destroyActor.getOrCreate([key]);
    await actor.setValue(42);
    assert.equal(await actor.setEphemeral("dirty-vars"), "dirty-vars");
    const actorId = await actor.resolve();
    await actor.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const recreated = client.destroyActor.getOrCreate([key]);
    assert.equal(await recreated.getValue(), 0);
    assert.equal(await recreated.getEphemeral(), "fresh");
  });

  test("destroy clears the state (over a connection)", T, async (t) => {
    const { client } = await setup(t);
    const key = "test-destroy-with-connect";
    const handle = client.destroyActor.getOrCreate([key]);
    const actorId = await handle.resolve();
    const conn = handle.connect();
    await conn.setValue(99);
    assert.equal(await conn.getValue(), 99);
    await conn.destroy();
    await conn.dispose();
    await waitForActorDestroyed(client, key, actorId);
    await expectGoneThenFresh(client, key, actorId);
  });

  test("getOrCreate + resolve recreates a destroyed actor", T, async (t) => {
    const { client } = await setup(t);
    const key = "test-destroy-getorcreate-resolve";
    const actor = client.destroyActor.getOrCreate([key]);
    await actor.setValue(123);
    const actorId = await actor.resolve();
    await actor.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const fresh = client.destroyActor.getOrCreate([key]);
    await fresh.resolve();
    assert.equal(await fresh.getValue(), 0);
  });

  test("create() recreates a destroyed actor", T, async (t) => {
    const { client } = await setup(t);
    const key = "test-destroy-create";
    const first = await client.destroyActor.create([key]);
    await first.setValue(456);
    assert.equal(await first.getValue(), 456);
    const actorId = await first.resolve();
    await first.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const second = await client.destroyActor.create([key]);
    await second.resolve();
    assert.equal(await second.getValue(), 0);
  });

  test("a stale getOrCreate handle's action reaches the new actor", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-handle-action-${crypto.randomUUID()}`;
    const handle = client.destroyActor.getOrCreate([key]);
    await handle.setValue(321);
    const actorId = await handle.resolve();
    await handle.destroy();
    await waitForActorDestroyed(client, key, actorId);
    assert.equal(await handle.getValue(), 0);
  });

  test("a stale getOrCreate handle's queue send reaches the new actor", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-handle-queue-${crypto.randomUUID()}`;
    const handle = client.destroyActor.getOrCreate([key]);
    const actorId = await handle.resolve();
    await handle.destroy();
    await waitForActorDestroyed(client, key, actorId);
    await handle.send("values", 11);
    assert.equal(await handle.receiveValue(), 11);
  });

  test("a stale getOrCreate handle's raw request reaches the new actor", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-handle-http-${crypto.randomUUID()}`;
    const handle = client.destroyActor.getOrCreate([key]);
    await handle.setValue(55);
    const actorId = await handle.resolve();
    await handle.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const res: Response = await handle.fetch("/state");
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), { key, value: 0 });
  });

  test("a stale getOrCreate handle's raw WebSocket reaches the new actor", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-handle-websocket-${crypto.randomUUID()}`;
    const handle = client.destroyActor.getOrCreate([key]);
    await handle.setValue(89);
    const actorId = await handle.resolve();
    await handle.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const ws = await handle.webSocket();
    assert.deepEqual(await nextJson(ws), { type: "welcome", key, value: 0 });
    ws.close();
  });

  test("a stale getOrCreate handle's connection re-resolves after the open fails", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-handle-connect-${crypto.randomUUID()}`;
    const handle = client.destroyActor.getOrCreate([key]);
    await handle.setValue(144);
    const actorId = await handle.resolve();
    await handle.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const conn = handle.connect();
    assert.equal(await conn.getValue(), 0);
    await conn.dispose();
  });

  test("a stale get handle reaches the actor recreated under its key", T, async (t) => {
    const { client } = await setup(t);
    const key = `test-lazy-get-handle-action-${crypto.randomUUID()}`;
    const creator = client.destroyActor.getOrCreate([key]);
    await creator.setValue(222);
    const handle = client.destroyActor.get([key]);
    assert.equal(await handle.getValue(), 222);
    const actorId = await creator.resolve();
    await creator.destroy();
    await waitForActorDestroyed(client, key, actorId);
    const recreated = client.destroyActor.getOrCreate([key]);
    assert.equal(await recreated.getValue(), 0);
    assert.equal(await handle.getValue(), 0);
    assert.equal(await handle.resolve(), await recreated.resolve());
  });
});
