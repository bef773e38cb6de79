import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

// Runs last under `npm test` (scripts/test.sh lists it last, one file at a time): every log line
// the suite wrote, in process and in child servers, at trace level, must hold no configured
// token and no connection param marked secret.
test("no token or secret param appears in any log written by the whole test suite", (t) => {
  const dir = process.env.TROUPE_TEST_LOG_DIR;
  if (!dir) {
    t.skip("run through `npm test`, which collects the suite's logs");
    return;
  }
  const secrets = new Set<string>();
  for (const file of fs.readdirSync("test").filter((f) => f.endsWith(".ts"))) {
    const src = fs.readFileSync(path.join("test", file), "utf8");
    for (const m of src.matchAll(/const (?:[A-Z_]*TOKEN|PARAM_SECRET) = "([^"]+)"/g)) secrets.add(m[1]!);
  }
  secrets.add("conn-secret");
  secrets.add("do-not-show");
  assert.ok(secrets.size >= 10, `found the suite's tokens (${secrets.size})`);
  let bytes = 0;
  const files = fs.readdirSync(dir);
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    bytes += text.length;
    for (const s of secrets) assert.ok(!text.includes(s), `${s} appears in ${f}`);
  }
  assert.ok(bytes > 10_000, `the suite logged something (${bytes} bytes)`);
  console.log(`secrets grep: ${files.length} log files, ${bytes} bytes, ${secrets.size} secrets, 0 found`);
});
