import assert from "node:assert/strict";
import { test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { startServer, waitFor } from "./helpers/harness.js";

const ticker = actor({
  state: { n: 0 },
  actions: {
    tick: (c) => {
      c.state.n += 1;
      c.broadcast("tick", c.state.n);
      return c.state.n;
    },
    nap: (c) => c.sleep(),
  },
});

test("a connection dropped by the server reconnects, resubscribes, and keeps working", async () => {
  const h = await startServer({ use: { ticker } });
  try {
    const conn = h.client.ticker.getOrCreate(["t"]).connect();
    const ticks: number[] = [];
    const closes: Array<{ code: number; reconnecting?: boolean }> = [];
    conn.on("tick", (n: number) => ticks.push(n));
    conn.onClose((i) => closes.push(i));
    assert.equal(await conn.tick(), 1);
    // c.sleep() unloads the actor and closes its connections with 1001: the client comes back.
    await conn.nap().catch(() => {});
    await waitFor(() => closes.length === 1, 3000, "the drop");
    assert.deepEqual(closes[0], { code: 1001, reason: "actor_stopped", reconnecting: true });
    await waitFor(async () => (await conn.tick().catch(() => 0)) > 1, 5000, "calls work again");
    await waitFor(() => ticks.length >= 2, 2000, "events after the reconnect");
    assert.equal(ticks[0], 1);
    await conn.dispose();

    // With reconnect: false, the drop is final.
    const once = h.client.ticker.getOrCreate(["u"]).connect({ reconnect: false });
    await once.tick();
    const closed = new Promise<{ code: number; reconnecting?: boolean }>((r) => once.onClose(r));
    await once.nap().catch(() => {});
    assert.deepEqual(await closed, { code: 1001, reason: "actor_stopped" });
    await assert.rejects(once.tick(), (e: ActorError) => e.code === "connection_closed");
  } finally {
    await h.close();
  }
});
