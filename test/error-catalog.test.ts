import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { errors, TroupeError, UserError } from "../src/common/errors.js";

// One error catalog (src/common/errors.ts): the code raises nothing else, and docs/PROTOCOL.md
// lists exactly what it holds, with the same group and HTTP status.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every factory, called with placeholder arguments: what the code can actually raise. */
function catalog(): Map<string, { group: string; status: number }> {
  const out = new Map<string, { group: string; status: number }>();
  for (const [name, factory] of Object.entries(errors) as Array<[string, (...a: unknown[]) => TroupeError]>) {
    let e: TroupeError | undefined;
    for (const arg of ["x", ["x"], 1]) {
      try {
        e = factory(arg, arg);
        break;
      } catch {
        // try the next kind of placeholder
      }
    }
    assert.ok(e instanceof TroupeError, `errors.${name} builds a TroupeError`);
    // A code is unique within its group: RivetKit's request/invalid and encoding/invalid are two.
    const key = `${e.group}/${e.code}`;
    const seen = out.get(key);
    if (seen) assert.deepEqual(seen, { group: e.group, status: e.status }, `${key} has one status`);
    out.set(key, { group: e.group, status: e.status });
  }
  const user = new UserError("x");
  out.set(`${user.group}/${user.code}`, { group: user.group, status: user.status });
  return out;
}

test("no TroupeError is built outside the catalog (the browser client keeps its own)", () => {
  const outside = sources(path.join(root, "src"))
    .filter((f) => !f.endsWith(path.join("common", "errors.ts")) && !f.includes(`${path.sep}client${path.sep}`))
    .filter((f) => /new TroupeError\(|extends TroupeError/.test(fs.readFileSync(f, "utf8")));
  assert.deepEqual(outside.map((f) => path.relative(root, f)), []);
});

test("docs/PROTOCOL.md lists exactly the catalog's codes, with their groups and statuses", () => {
  const doc = fs.readFileSync(path.join(root, "docs/PROTOCOL.md"), "utf8");
  const documented = new Map<string, { group: string; status: number }>();
  for (const m of doc.matchAll(/^\| (\d{3}) \| (\w+) \| (?:`(\w+)`|\*from the actor\*) \|/gm)) {
    documented.set(`${m[2]}/${m[3] ?? "user_error"}`, { group: m[2]!, status: Number(m[1]) });
  }
  const code = catalog();
  assert.deepEqual([...documented.keys()].sort(), [...code.keys()].sort(), "the same codes");
  for (const [c, v] of code) assert.deepEqual(documented.get(c), v, `${c}: group and status`);
});
