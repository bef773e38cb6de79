import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { actor, setup } from "../src/index.js";
import { quietLogger } from "./helpers/harness.js";

// One metric catalog: the families the code declares equal the ones docs/METRICS.md lists, both
// ways, so a rename or a new family cannot slip through either side.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

test("the families the code can emit are exactly the ones docs/METRICS.md lists", async () => {
  // A type that uses every capability, so every family that exists for some type exists here.
  const everything = actor({
    state: {},
    db: { migrations: [] },
    queues: { jobs: () => {} },
    actions: { a: () => 1 },
    onRequest: () => new Response("ok"),
    onWebSocket: () => {},
  });
  const registry = setup({ use: { everything }, storage: { driver: "memory" }, logger: quietLogger, metrics: { auth: "none" } as never });
  try {
    const code = registry.metrics.registry.familyNames();
    const doc = fs.readFileSync(path.join(root, "docs/METRICS.md"), "utf8");
    const documented = [...new Set([...doc.matchAll(/^\| `((?:troupe|process|nodejs)_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!))].sort();
    assert.ok(code.length > 30, `the registry declares its families up front (${code.length})`);
    assert.deepEqual(code, documented);
  } finally {
    await registry.shutdown();
  }
});
