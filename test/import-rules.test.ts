import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// Imports point down only, type imports included: common → storage, protocol → actor → metrics, runtime →
// server, inspector, routes → registry → index. src/client is an island: it imports nothing
// outside itself (others may use its types). And no file takes part in an import circle.
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src");
const LAYER: Record<string, number> = { common: 0, storage: 1, protocol: 1, actor: 2, metrics: 3, runtime: 3, server: 4, inspector: 4, routes: 4, registry: 5, "index.ts": 6 };

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports and re-exports of a file, `import type` and `export type` included. */
function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      if (spec.startsWith(".")) out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const spec = node.argument.literal.text;
      if (spec.startsWith(".")) out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const graph = new Map(files(src).map((f) => [f, importsOf(f)]));
const area = (f: string) => path.relative(src, f).split(path.sep)[0]!;
const rel = (f: string) => path.relative(src, f);

test("every import points down the layers, and src/client imports nothing outside itself", () => {
  const wrong: string[] = [];
  for (const [from, deps] of graph) {
    for (const to of deps) {
      const a = area(from);
      const b = area(to);
      if (a === "client") {
        if (b !== "client") wrong.push(`${rel(from)} -> ${rel(to)} (the client is an island)`);
      } else if (b !== "client") {
        assert.ok(a in LAYER && b in LAYER, `${rel(from)} or ${rel(to)} is in no layer: add its folder to LAYER`);
        if (LAYER[b]! > LAYER[a]!) wrong.push(`${rel(from)} -> ${rel(to)} (upward)`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test("no import circles, type imports included", () => {
  // Tarjan's strongly connected components: any with more than one file is a circle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(rel(w));
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strong(v);
  assert.deepEqual(circles, []);
  assert.ok(graph.size > 50, `the walk saw the source tree (${graph.size} files)`);
});

test("better-sqlite3 stays inside the store implementations: no interface hands out its types", () => {
  const users = [...graph.keys()].filter((f) => /from "better-sqlite3"/.test(fs.readFileSync(f, "utf8"))).map(rel).sort();
  assert.deepEqual(users, ["storage/dir-lock.ts", "storage/memory-store.ts", "storage/sqlite-commit-worker.ts", "storage/sqlite-store.ts", "storage/sqlite-writes.ts", "storage/table-counts.ts"]);
});

test("the edges reach actors through the gateway interface only: no edge imports the instance or the manager", () => {
  const edges = [...graph.keys()].filter((f) => ["server", "inspector", "routes", "runtime"].includes(area(f)));
  const forbidden = [path.join(src, "actor/instance.ts"), path.join(src, "registry/actor-manager.ts"), path.join(src, "registry/live-set.ts")];
  const offenders = edges.flatMap((f) => graph.get(f)!.filter((to) => forbidden.includes(to)).map((to) => `${rel(f)} -> ${rel(to)}`));
  assert.deepEqual(offenders, []);
});
