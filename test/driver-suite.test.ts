import fs from "node:fs";
import path from "node:path";
import { EmbeddedPlacement } from "../src/storage/embedded-placement.js";
import { GroupCommitter } from "../src/storage/group-commit.js";
import { MemoryStore } from "../src/storage/memory-store.js";
import { SqliteStore } from "../src/storage/sqlite-store.js";
import type { ActorStore } from "../src/storage/driver.js";
import { tempDir } from "./helpers/harness.js";
import { driverSuite, type DriverPair } from "./drivers/suite.js";

// Every driver pair Troupe ships runs the same suite; an engine driver joins with one more call.

/** An embedded store and its placement; close drains the committer so no write is left behind. */
async function embedded(store: ActorStore, reopen?: () => Promise<DriverPair>): Promise<DriverPair> {
  await store.open();
  const committer = new GroupCommitter(store);
  return {
    storage: store,
    placement: new EmbeddedPlacement(store, committer),
    close: async () => {
      await committer.drain();
      await store.close();
    },
    ...(reopen ? { reopen } : {}),
  };
}

// One temp root (removed at exit) holding a folder per test.
const root = tempDir("troupe-driver-");
function sqlite(dataDir = fs.mkdtempSync(path.join(root, "d-"))): Promise<DriverPair> {
  return embedded(new SqliteStore({ dataDir, durability: "process" }), () => sqlite(dataDir));
}

driverSuite("sqlite", () => sqlite());
driverSuite("memory", () => embedded(new MemoryStore()));
