import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-vars (tests/driver/actor-vars.test.ts): an
// actor's ephemeral vars, static (`vars`) and built (`createVars`), read with the real rivetkit
// 2.3.19 client.

describeDriverMatrix("RivetKit driver: actor vars", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, actionFixtures, encoding);

  describe("static vars", () => {
    test("an actor reads the vars it declares", T, async (t) => {
      const { client } = await setup(t);
      const instance = client.staticVarActor.getOrCreate();
      assert.deepEqual(await instance.getVars(), { counter: 42, name: "test-actor" });
      assert.equal(await instance.getName(), "test-actor");
    });

    test("each actor gets its own deep copy of the static vars", T, async (t) => {
      const { client } = await setup(t);
      const modified = await client.nestedVarActor.getOrCreate(["instance1"]).modifyNested();
      assert.equal(modified?.nested?.value, "modified");
      assert.ok(modified.nested.array.includes(4));
      assert.equal(modified.nested.obj.key, "new-value");
      const other = await client.nestedVarActor.getOrCreate(["instance2"]).getVars();
      assert.equal(other.nested.value, "original");
      assert.deepEqual(other.nested.array, [1, 2, 3]);
      assert.equal(other.nested.obj.key, "value");
    });
  });

  describe("createVars", () => {
    test("vars built by createVars", T, async (t) => {
      const { client } = await setup(t);
      const vars = await client.dynamicVarActor.getOrCreate().getVars();
      assert.equal(typeof vars.random, "number");
      assert.equal(typeof vars.computed, "string");
      assert.match(vars.computed, /^Actor-\d+$/);
    });

    test("each actor builds its own vars", T, async (t) => {
      const { client } = await setup(t);
      const v1 = await client.uniqueVarActor.getOrCreate(["test1"]).getVars();
      const v2 = await client.uniqueVarActor.getOrCreate(["test2"]).getVars();
      assert.equal(typeof v1.id, "number");
      assert.notEqual(v1.id, v2.id);
    });
  });

  describe("driver context", () => {
    // RivetKit only checks that createVars ran with whatever context the driver gives.
    test("createVars runs and its vars are readable", T, async (t) => {
      const { client } = await setup(t);
      const vars = await client.driverCtxActor.getOrCreate().getVars();
      assert.equal(typeof vars?.hasDriverCtx, "boolean");
    });
  });
});
