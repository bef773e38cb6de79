import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { tempDir } from "./helpers/harness.js";

type Counter = { counter: { increment(by?: number): Promise<number>; get(): Promise<{ count: number; sleeps: number; log: number[] }> } };

describe("persistence across real process restarts", () => {
  test("SIGKILL loses no acknowledged write", async () => {
    const dataDir = tempDir();
    let server: ChildServer | undefined;
    try {
      server = await startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir });
      let client = createClient<Counter>(server.url) as any;
      const acked: number[] = [];
      for (let i = 0; i < 20; i++) acked.push(await client.counter.getOrCreate(["k"]).increment(1));
      const conn = client.counter.getOrCreate(["k"]).connect();
      const burst = await Promise.all(Array.from({ length: 100 }, () => conn.increment(1)));
      acked.push(...burst);
      await conn.dispose().catch(() => {});
      server.child.kill("SIGKILL");
      await server.exited;

      server = await startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir });
      client = createClient<Counter>(server.url) as any;
      const state = await client.counter.getOrCreate(["k"]).get();
      assert.equal(state.count, 120, "every acknowledged increment survived");
      assert.deepEqual(state.log, acked.slice().sort((a, b) => a - b));
      assert.equal(state.sleeps, 0, "SIGKILL ran no onSleep");
    } finally {
      server?.child.kill("SIGKILL");
      await server?.exited;
    }
  });

  test("SIGTERM shuts down gracefully: onSleep runs and commits", async () => {
    const dataDir = tempDir();
    let server: ChildServer | undefined;
    try {
      server = await startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir });
      let client = createClient<Counter>(server.url) as any;
      assert.equal(await client.counter.getOrCreate(["g"]).increment(7), 7);
      server.child.kill("SIGTERM");
      const exit = await server.exited;
      assert.equal(exit.code, 0, `clean exit (stderr: ${server.stderr()})`);

      server = await startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir });
      client = createClient<Counter>(server.url) as any;
      const state = await client.counter.getOrCreate(["g"]).get();
      assert.equal(state.count, 7);
      assert.equal(state.sleeps, 1, "onSleep ran once at shutdown and its change was committed");
    } finally {
      server?.child.kill("SIGKILL");
      await server?.exited;
    }
  });

  test("a second server on the same data directory is refused", async () => {
    const dataDir = tempDir();
    let first: ChildServer | undefined;
    try {
      first = await startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir });
      await assert.rejects(startChild("test/fixtures/restart-server.ts", { TROUPE_DATA_DIR: dataDir }), /in use by process/);
    } finally {
      first?.child.kill("SIGKILL");
      await first?.exited;
    }
  });
});
