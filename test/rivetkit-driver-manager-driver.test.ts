import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module manager-driver (tests/driver/manager-driver.test.ts):
// how the client's get / getOrCreate / create find actors by key, pass input and params, through
// the management API (/actors) and the gateway, with the real rivetkit 2.3.19 client.

const use = { ...connFixtures, ...actionFixtures };

describeDriverMatrix("RivetKit driver: manager driver", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, use, encoding);

  describe("client connection methods", () => {
    test("getOrCreate() with no key finds or creates the default actor; a key makes another", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate().increment(5);
      assert.equal(await client.counter.getOrCreate().increment(0), 5);
      const b = client.counter.getOrCreate(["counter-b", "testing"]);
      await b.increment(10);
      assert.equal(await b.increment(0), 10);
    });

    test("create() of a key getOrCreate() made fails with actor/duplicate_key; the original keeps its state", T, async (t) => {
      const { client } = await setup(t);
      const key = ["duplicate-actor-test", crypto.randomUUID()];
      const counter = client.counter.getOrCreate(key);
      await counter.increment(5);
      const err = await rejection(client.counter.create(key));
      assert.equal(err.group, "actor");
      assert.ok(["duplicate_key", "destroyed_during_creation"].includes(err.code), `code ${err.code}`);
      assert.equal(await counter.increment(0), 5);
    });
  });

  describe("connection options", () => {
    test("get() does not create; after getOrCreate() it finds the actor", T, async (t) => {
      const { client } = await setup(t);
      const id = `nonexistent-${crypto.randomUUID()}`;
      const err = await rejection(client.counter.get([id]).resolve());
      assert.equal(err.group, "actor");
      assert.equal(err.code, "not_found");
      await client.counter.getOrCreate(id).increment(3);
      assert.equal(await client.counter.get(id).increment(0), 3);
    });

    test("connection params are accepted on a handle", T, async (t) => {
      const { client } = await setup(t);
      const counter = client.counter.getOrCreate(undefined, { params: { userId: "user-123", authToken: "token-abc", settings: { increment: 5 } } });
      await counter.increment(1);
      assert.equal(await counter.increment(0), 1);
    });
  });

  describe("actor creation and retrieval", () => {
    test("getOrCreate() of one key twice reaches one actor", T, async (t) => {
      const { client } = await setup(t);
      const id = `test-counter-${crypto.randomUUID()}`;
      await client.counter.getOrCreate([id]).increment(10);
      assert.equal(await client.counter.getOrCreate([id]).increment(0), 10);
    });

    test("create() passes its input to createState and onCreate", T, async (t) => {
      const { client } = await setup(t);
      const input = { name: "test-actor", value: 42, nested: { foo: "bar" } };
      const handle = await client.inputActor.create(undefined, { input });
      const inputs = await handle.getInputs();
      assert.deepEqual(inputs.initialInput, input);
      assert.deepEqual(inputs.onCreateInput, input);
    });

    test("input is undefined when none is given", T, async (t) => {
      const { client } = await setup(t);
      const inputs = await (await client.inputActor.create()).getInputs();
      assert.equal(inputs.initialInput, undefined);
      assert.equal(inputs.onCreateInput, undefined);
    });

    test("getOrCreate() passes createWithInput on creation only", T, async (t) => {
      const { client } = await setup(t);
      const key = [`input-test-${crypto.randomUUID()}`];
      const input = { name: "getorcreate-test", value: 100, nested: { baz: "qux" } };
      const inputs = await client.inputActor.getOrCreate(key, { createWithInput: input }).getInputs();
      assert.deepEqual(inputs.initialInput, input);
      assert.deepEqual(inputs.onCreateInput, input);
      const again = await client.inputActor.getOrCreate(key).getInputs();
      assert.deepEqual(again.initialInput, input);
      assert.deepEqual(again.onCreateInput, input);
    });
  });

  describe("key matching", () => {
    test("a multi-part key with a slash in a part reaches the actor intact", T, async (t) => {
      const { client } = await setup(t);
      const key = ["tenant/with/slash", "room"];
      assert.deepEqual(await client.counter.getOrCreate(key).getKey(), key);
    });

    test("only the exact key matches: a prefix of it is another actor", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate(["counter-match", "test", "us-east"]).increment(10);
      assert.equal(await client.counter.getOrCreate(["counter-match", "test", "us-east"]).increment(0), 10);
      assert.equal(await client.counter.getOrCreate(["counter-match", "test"]).increment(0), 0);
      assert.equal(await client.counter.getOrCreate(["counter-match"]).increment(0), 0);
    });

    test("a string key is the one-part array key", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate("string-key-test").increment(7);
      assert.equal(await client.counter.getOrCreate(["string-key-test"]).increment(0), 7);
    });

    test("an undefined key, the empty array and no key are one actor", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate(undefined).increment(12);
      assert.equal(await client.counter.getOrCreate([]).increment(0), 12);
      assert.equal(await client.counter.getOrCreate().increment(0), 12);
    });

    test("no key does not match an actor with a key", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate(["counter-with-keys", "special"]).increment(15);
      assert.equal(await client.counter.getOrCreate().increment(10), 10);
    });

    test("a key does not match the actor without one", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate().increment(25);
      assert.equal(await client.counter.getOrCreate(["new-counter", "prod"]).increment(0), 0);
    });
  });

  describe("multiple actor instances", () => {
    test("several actors of one type keep separate state", T, async (t) => {
      const { client } = await setup(t);
      for (const i of [1, 2, 3]) await client.counter.getOrCreate([`multi-${i}`]).increment(i);
      for (const i of [1, 2, 3]) assert.equal(await client.counter.getOrCreate([`multi-${i}`]).increment(0), i);
    });

    test("the default instance (no key) keeps its state", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate().increment(5);
      assert.equal(await client.counter.getOrCreate().increment(0), 5);
    });
  });
});
