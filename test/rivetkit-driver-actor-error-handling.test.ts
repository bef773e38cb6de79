import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionFixtures } from "./rk-driver/fixtures-actions.js";
import { describeDriverMatrix, T, rejection, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-error-handling (tests/driver/
// actor-error-handling.test.ts): UserErrors, internal errors and action timeouts as the real
// rivetkit 2.3.19 client sees them over stateless HTTP calls.

/** RivetKit's INTERNAL_ERROR_CODE and INTERNAL_ERROR_DESCRIPTION (src/actor/errors.ts). */
const INTERNAL_ERROR_CODE = "internal_error";
const INTERNAL_ERROR_DESCRIPTION = "An internal error occurred";

describeDriverMatrix("RivetKit driver: actor error handling", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, actionFixtures, encoding);

  describe("UserError", () => {
    test("a plain UserError: its message, code user_error, no metadata", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.errorHandlingActor.getOrCreate().throwSimpleError());
      assert.equal(err.message, "Simple error message");
      assert.equal(err.code, "user_error");
      assert.equal(err.metadata, undefined);
    });

    test("a UserError with code and metadata keeps both", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.errorHandlingActor.getOrCreate().throwDetailedError());
      assert.equal(err.message, "Detailed error message");
      assert.equal(err.code, "detailed_error");
      assert.equal(err.metadata?.reason, "test");
      assert.notEqual(err.metadata?.timestamp, undefined);
    });
  });

  describe("internal errors", () => {
    test("an unexpected throw arrives as RivetKit's internal error, without its details", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.errorHandlingActor.getOrCreate().throwInternalError());
      assert.equal(err.code, INTERNAL_ERROR_CODE);
      assert.equal(err.message, INTERNAL_ERROR_DESCRIPTION);
    });
  });

  describe("action timeout", () => {
    test("an action past options.actionTimeoutMs fails with a `timed out` message", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.errorHandlingActor.getOrCreate().timeoutAction());
      assert.match(err.message, /timed out/i);
    });

    test("an action within the timeout completes", T, async (t) => {
      const { client } = await setup(t);
      assert.equal(await client.errorHandlingActor.getOrCreate().delayedAction(200), "Completed after 200ms");
    });

    test("each actor type has its own timeout", T, async (t) => {
      const { client } = await setup(t);
      const err = await rejection(client.customTimeoutActor.getOrCreate().slowAction());
      assert.match(err.message, /timed out/i);
      assert.equal(await client.customTimeoutActor.getOrCreate().quickAction(), "Quick action completed");
    });
  });

  describe("recovery", () => {
    test("the actor keeps working after an error", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.errorHandlingActor.getOrCreate();
      await rejection(handle.throwSimpleError());
      assert.equal(await handle.successfulAction(), "success");
    });
  });
});
