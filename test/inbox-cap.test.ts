import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { startServer } from "./helpers/harness.js";

describe("the inbox cap", () => {
  const slow = actor({
    state: { n: 0 },
    actions: {
      wait: async (c, ms: number) => {
        await new Promise((r) => setTimeout(r, ms));
        return ++c.state.n;
      },
    },
    options: { maxQueuedCalls: 3 },
  });

  test("calls beyond maxQueuedCalls are refused with actor_overloaded; those admitted run; the actor keeps serving", async () => {
    const h = await startServer({ use: { slow } });
    try {
      const s = h.client.slow.getOrCreate(["x"]);
      await s.wait(0);
      // One runs, three wait; the next two are refused at once.
      const calls = Array.from({ length: 6 }, () => s.wait(100).then((v) => ({ ok: v }), (e: ActorError) => ({ err: e.code })));
      const out = await Promise.all(calls);
      assert.equal(out.filter((o) => "ok" in o).length, 4, JSON.stringify(out));
      assert.deepEqual(out.filter((o) => "err" in o), [{ err: "actor_overloaded" }, { err: "actor_overloaded" }]);
      assert.equal(await s.wait(0), 6, "the actor keeps serving");
    } finally {
      await h.close();
    }
  });
});
