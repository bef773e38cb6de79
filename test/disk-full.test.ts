import assert from "node:assert/strict";
import { test } from "node:test";
import { actor, SqliteStore } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import type { StoreWrite } from "../src/storage/types.js";
import type { CommitHint } from "../src/storage/group-commit.js";
import { startServer, tempDir } from "./helpers/harness.js";

/** The SQLite store, with a switch that makes every write fail as a full disk does. */
class FullDiskStore extends SqliteStore {
  full = false;
  override async write(batch: readonly StoreWrite[], hint?: CommitHint): Promise<void> {
    if (this.full) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    // The hint passes on: healthy commits take the same path (main thread or commit thread) as in production.
    return super.write(batch, hint);
  }
}

const wallet = actor({
  state: { balance: 0 },
  actions: {
    deposit: async (c, n: number) => {
      c.state.balance += n;
      await c.kv.put(`d${c.state.balance}`, n);
      return c.state.balance;
    },
    balance: (c) => c.state.balance,
  },
});

test("a full disk fails calls with a clear error, keeps the server up, and recovers when space returns", async () => {
  const store = new FullDiskStore({ dataDir: tempDir() });
  const h = await startServer({ use: { wallet }, storage: store });
  try {
    const w = h.client.wallet.getOrCreate(["w"]);
    assert.equal(await w.deposit(10), 10);
    store.full = true;
    for (let i = 0; i < 5; i++) await assert.rejects(w.deposit(1), (e: ActorError) => e.code === "state_commit_failed" && e.status === 500 && /not applied/.test(e.message));
    await assert.rejects(h.client.wallet.getOrCreate(["new"]).deposit(1), (e: ActorError) => e.code === "state_commit_failed", "creating an actor fails too, clearly");
    assert.equal((await fetch(`${h.url}/health`)).status, 200, "the server stays up");
    assert.equal(await w.balance(), 10, "reads still work and show only committed state");
    store.full = false;
    assert.equal(await w.deposit(5), 15, "writes succeed again once space returns; the refused ones left nothing");
    assert.equal(await h.client.wallet.getOrCreate(["new"]).deposit(1), 1);
  } finally {
    await h.close();
  }
});
