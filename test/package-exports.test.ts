import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

// `npm test` builds first; these check what a user installing the package gets from dist/.
// The specifiers are variables so the typecheck (which may run before a build) does not resolve them.
const MAIN = "troupe";
const CLIENT = "troupe/client";

test("`troupe` and `troupe/client` resolve to dist/ through package.json exports", async () => {
  assert.ok(fs.existsSync("dist/index.js") && fs.existsSync("dist/client/index.js"), "run `npm run build` first");
  const troupe = await import(MAIN);
  assert.equal(typeof troupe.actor, "function");
  assert.equal(typeof troupe.setup, "function");
  assert.equal(typeof troupe.UserError, "function");
  const client = await import(CLIENT);
  assert.equal(typeof client.createClient, "function");
  assert.equal(typeof client.ActorError, "function");
  assert.ok(fs.existsSync("dist/index.d.ts") && fs.existsSync("dist/client/index.d.ts"), "type declarations are emitted");
});

test("the client's import graph stays in dist/client and needs only cbor-x and ws", () => {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
      else external.add(spec);
    }
  };
  visit(path.resolve("dist/client/index.js"));
  for (const f of seen) assert.ok(f.startsWith(path.resolve("dist/client")), `client loads ${f}`);
  assert.deepEqual([...external].sort(), ["cbor-x", "ws"]);
});

test("the client's emitted type declarations stay in dist/client too (no server, storage or better-sqlite3 types)", () => {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".d.ts")));
      else external.add(spec);
    }
  };
  visit(path.resolve("dist/client/index.d.ts"));
  assert.ok(seen.size > 1, "the declarations were followed");
  for (const f of seen) assert.ok(f.startsWith(path.resolve("dist/client")), `the client's types load ${f}`);
  assert.deepEqual([...external].sort(), []);
});
