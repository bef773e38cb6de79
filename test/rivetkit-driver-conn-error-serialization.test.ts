import assert from "node:assert/strict";
import { test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module conn-error-serialization (tests/driver/
// conn-error-serialization.test.ts): errors of a connection's admission and of its actions keep
// their group, code and metadata through the WebSocket frames, with the real rivetkit 2.3.19 client.

const use = { ...connFixtures, errorHandlingActor: actionFixtures.errorHandlingActor };

describeDriverMatrix("RivetKit driver: conn error serialization", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, use, encoding);

  test("an error thrown in createConnState keeps its group and code", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.connErrorSerializationActor.getOrCreate([`test-error-serialization-${Date.now()}`], { params: { shouldThrow: true } }).connect();
    const err = await rejection(conn.getValue());
    assert.equal(err.group, "connection");
    assert.equal(err.code, "custom_error");
    await conn.dispose();
  });

  test("a createConnState that succeeds lets the connection work", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.connErrorSerializationActor.getOrCreate([`test-no-error-${Date.now()}`], { params: { shouldThrow: false } }).connect();
    assert.equal(await conn.getValue(), 0);
    await conn.dispose();
  });

  test("an action's UserError keeps its message, code and metadata over the connection", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.errorHandlingActor.getOrCreate().connect();
    const err = await rejection(conn.throwDetailedError());
    assert.equal(err.message, "Detailed error message");
    assert.equal(err.code, "detailed_error");
    assert.equal(err.metadata?.reason, "test");
    assert.notEqual(err.metadata?.timestamp, undefined);
    await conn.dispose();
  });
});
