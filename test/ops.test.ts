import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { tempDir } from "./helpers/harness.js";

const read = (p: string) => fs.readFileSync(p, "utf8");
const catalog = read("docs/METRICS.md");

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8" });
  if (r.error) throw new Error("promtool is not installed: run `bash scripts/ensure-promtool.sh` (or `apt-get install prometheus`)");
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Metric names in PromQL; a histogram's `_bucket`/`_sum`/`_count` sample maps to its family. */
function metricNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\b((?:troupe|process|nodejs)_[a-z0-9_]+)\b/g)) {
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    names.add(catalog.includes(`\`${m[1]}\``) ? m[1]! : family);
  }
  return [...names];
}

test("promtool accepts the alert and recording rules", () => {
  const r = promtool(["check", "rules", "ops/prometheus/troupe-rules.yml"]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS: \d+ rules found/);
});

test("promtool accepts the example scrape config (with a token file in place)", () => {
  const dir = tempDir();
  fs.copyFileSync("ops/prometheus/prometheus.yml", path.join(dir, "prometheus.yml"));
  fs.copyFileSync("ops/prometheus/troupe-rules.yml", path.join(dir, "troupe-rules.yml"));
  fs.writeFileSync(path.join(dir, "troupe-token"), "example-token\n", { mode: 0o600 });
  const r = promtool(["check", "config", path.join(dir, "prometheus.yml")]);
  assert.equal(r.status, 0, r.out);
  assert.match(read("ops/prometheus/prometheus.yml"), /authorization:\s*\n\s*type: Bearer\s*\n\s*credentials_file:/);
});

test("every metric used by the dashboard and the rules is in the catalog", () => {
  for (const file of ["ops/grafana/troupe-dashboard.json", "ops/prometheus/troupe-rules.yml"]) {
    const names = metricNames(read(file));
    assert.ok(names.length >= 8, `${file} uses metrics (found ${names.length})`);
    for (const n of names) assert.ok(catalog.includes(`\`${n}\``), `${file} uses ${n}, which docs/METRICS.md does not list`);
  }
});

test("every alert has a summary and a runbook section in docs/OPERATIONS.md", () => {
  const rules = read("ops/prometheus/troupe-rules.yml");
  const ops = read("docs/OPERATIONS.md").toLowerCase();
  const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  assert.deepEqual(alerts.sort(), ["TroupeActionLatencyHigh", "TroupeEventLoopLag", "TroupeHighActionErrorRatio", "TroupeInboxBackingUp", "TroupeSeriesOverflow", "TroupeStateCommitsFailing", "TroupeTargetDown"]);
  for (const a of alerts) {
    const block = rules.slice(rules.indexOf(`- alert: ${a}`)).split("- alert:")[1]!;
    assert.match(block, /summary: /, `${a} summary`);
    assert.match(block, new RegExp(`runbook: "docs/OPERATIONS.md#${a.toLowerCase()}"`), `${a} runbook link`);
    assert.ok(ops.includes(`## ${a.toLowerCase()}`), `docs/OPERATIONS.md has a section for ${a}`);
  }
});

test("the dashboard has the $actor_name variable and a panel for each operational question", () => {
  const d = JSON.parse(read("ops/grafana/troupe-dashboard.json")) as { templating: { list: Array<{ name: string }> }; panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  assert.ok(d.templating.list.some((v) => v.name === "actor_name"));
  const titles = d.panels.map((p) => p.title.toLowerCase()).join(" | ");
  for (const topic of ["actors active", "starts and stops", "action rate", "error ratio", "p50 / p95 / p99", "inbox", "connections", "state commit", "kv latency", "sql latency", "queue depth", "queue wait", "alarm lateness", "event-loop lag", "heap", "gc", "overflow"]) {
    assert.ok(titles.includes(topic), `a panel about ${topic}`);
  }
  for (const p of d.panels) for (const t of p.targets) if (/troupe_actor/.test(t.expr)) assert.match(t.expr, /\$actor_name/, `${p.title} filters by $actor_name`);
});
