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

/** Every file `entry` reaches through relative imports, and the packages it names. */
function importGraph(entry: string, fileOf: (spec: string) => string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const src = fs.readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), fileOf(spec)));
      else external.add(spec);
    }
  };
  visit(path.resolve(entry));
  return { files, external };
}

test("the client's import graph stays in dist/client and needs only cbor-x and ws", () => {
  const { files, external } = importGraph("dist/client/index.js", (spec) => spec);
  for (const f of files) assert.ok(f.startsWith(path.resolve("dist/client")), `client loads ${f}`);
  assert.deepEqual([...external].sort(), ["cbor-x", "ws"]);
});

test("the client's emitted type declarations stay in dist/client too (no server, storage or better-sqlite3 types)", () => {
  const { files, external } = importGraph("dist/client/index.d.ts", (spec) => spec.replace(/\.js$/, ".d.ts"));
  assert.ok(files.size > 1, "the declarations were followed");
  for (const f of files) assert.ok(f.startsWith(path.resolve("dist/client")), `the client's types load ${f}`);
  assert.deepEqual([...external].sort(), []);
});
