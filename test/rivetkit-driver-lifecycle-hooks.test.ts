import assert from "node:assert/strict";
import { test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { describeDriverMatrix, T, rejection, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module lifecycle-hooks (tests/driver/lifecycle-hooks.test.ts),
// its client-protocol half: connections refused or admitted by onBeforeConnect, seen by the real
// rivetkit 2.3.19 client. The onStateChange cases are actor-internal and not ported.

describeDriverMatrix("RivetKit driver: lifecycle hooks", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, connFixtures, encoding);

  test("a UserError in onBeforeConnect refuses the connection; its code reaches the client", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.beforeConnectRejectActor.getOrCreate(undefined, { params: { shouldReject: true } }).connect();
    const err = await rejection(conn.ping());
    // RivetKit only checks that it throws; the code is what the fixture's UserError carries.
    assert.equal(err.code, "connection_rejected");
    await conn.dispose();
  });

  test("the connection is admitted when onBeforeConnect returns", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.beforeConnectRejectActor.getOrCreate(undefined, { params: { shouldReject: false } }).connect();
    assert.equal(await conn.ping(), "pong");
    await conn.dispose();
  });

  test("a plain Error in onBeforeConnect refuses the connection", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.beforeConnectGenericErrorActor.getOrCreate(undefined, { params: { shouldFail: true } }).connect();
    const err = await rejection(conn.ping());
    assert.ok(err instanceof Error);
    assert.ok(!String(err.message).includes("internal failure in onBeforeConnect"), "the error's details leaked to the client");
    await conn.dispose();
  });

  test("the generic-error actor admits when its hook succeeds", T, async (t) => {
    const { client } = await setup(t);
    const conn = client.beforeConnectGenericErrorActor.getOrCreate(undefined, { params: { shouldFail: false } }).connect();
    assert.equal(await conn.ping(), "pong");
    await conn.dispose();
  });
});
