import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { createClient } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { sleep, tempDir, waitFor } from "./helpers/harness.js";

const TOKEN = "e2e-prometheus-token";

function prometheusBinary(): string {
  const r = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
  if (r.error) throw new Error("prometheus is not installed: run `bash scripts/ensure-promtool.sh` (Debian's `prometheus` package); `npm test` does this for you");
  return "prometheus";
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

test("a real Prometheus scrapes Troupe with bearer auth and sees exactly the workload's ground truth", { timeout: 120_000 }, async () => {
  const bin = prometheusBinary();
  const dir = tempDir("troupe-e2e-");
  let server: ChildServer | undefined;
  let prom: ChildProcess | undefined;
  try {
    server = await startChild("test/fixtures/e2e-server.ts", { TROUPE_DATA_DIR: path.join(dir, "data"), TROUPE_METRICS_TOKEN: TOKEN, TROUPE_SLEEP_TIMEOUT_MS: "500" });
    const target = new URL(server.url).host;

    const promPort = await freePort();
    fs.writeFileSync(path.join(dir, "token"), TOKEN, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "wrong-token"), `${TOKEN}x`, { mode: 0o600 });
    // The shipped rules evaluate every 30 s; evaluate them every second here.
    fs.writeFileSync(path.join(dir, "troupe-rules.yml"), fs.readFileSync("ops/prometheus/troupe-rules.yml", "utf8").replace(/interval: 30s/g, "interval: 1s"));
    fs.writeFileSync(
      path.join(dir, "prometheus.yml"),
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        "rule_files: [troupe-rules.yml]",
        "scrape_configs:",
        `  - job_name: troupe`,
        `    authorization: { type: Bearer, credentials_file: ${path.join(dir, "token")} }`,
        `    static_configs: [{ targets: ["${target}"] }]`,
        `  - job_name: troupe-wrong-token`,
        `    authorization: { type: Bearer, credentials_file: ${path.join(dir, "wrong-token")} }`,
        `    static_configs: [{ targets: ["${target}"] }]`,
      ].join("\n"),
    );
    prom = spawn(bin, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
    let promErr = "";
    prom.stderr!.on("data", (d) => (promErr += d));
    const api = `http://127.0.0.1:${promPort}`;
    await waitFor(async () => (await fetch(`${api}/-/ready`).then((r) => r.ok, () => false)), 30_000, `prometheus ready (${promErr})`);
    const query = async (q: string): Promise<Vector> => {
      const r = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; data: { result: Vector } };
      assert.equal(r.status, "success", q);
      return r.data.result;
    };

    // The workload, with its ground truth.
    const client = createClient<any>(server.url) as any;
    const N = 25;
    const K = 4;
    const J = 3;
    const C = 5;
    const JOBS = 6;
    for (let i = 0; i < N; i++) await client.counter.getOrCreate([`c${i % 5}`]).increment(1);
    for (let i = 0; i < K; i++) await client.counter.getOrCreate(["c0"]).increment("not a number").catch(() => {});
    for (let i = 0; i < J; i++) await client.faulty.getOrCreate(["f"]).crash().catch(() => {});
    for (let i = 0; i < C; i++) {
      const conn = client.chatRoom.getOrCreate(["lobby"]).connect({ params: { username: `u${i}` } });
      await conn.post(`hello ${i}`);
      await conn.dispose();
    }
    const board = client.jobBoard.getOrCreate(["main"]);
    for (let i = 0; i < JOBS; i++) await board.send("jobs", { text: `job number ${i}` }, { wait: true });
    await board.totals();

    // `exact`: no other series may exist (a capability's series appear on first use only).
    const expectSum = async (q: string, expected: Record<string, number>, key: (m: Record<string, string>) => string, exact = false) => {
      let last = "";
      await waitFor(async () => {
        const got = Object.fromEntries((await query(q)).map((s) => [key(s.metric), Number(s.value[1])]));
        last = JSON.stringify(got);
        return Object.entries(expected).every(([k, v]) => got[k] === v) && (!exact || Object.keys(got).length === Object.keys(expected).length);
      }, 20_000, `${q} == ${JSON.stringify(expected)} (last: ${last})`);
    };
    const byNameOutcome = (m: Record<string, string>) => `${m.actor_name}/${m.outcome}`;
    await expectSum('sum by (actor_name, outcome) (troupe_actor_action_calls_total{job="troupe"})', { "counter/ok": N, "counter/user_error": K, "faulty/error": J, "chatRoom/ok": C }, byNameOutcome);
    await expectSum('sum by (actor_name) (troupe_actor_connections_opened_total{job="troupe"})', { chatRoom: C }, (m) => m.actor_name!);
    await expectSum('sum by (actor_name) (troupe_actor_connections_closed_total{job="troupe"})', { chatRoom: C }, (m) => m.actor_name!);
    await expectSum('sum by (queue, outcome) (troupe_actor_queue_messages_processed_total{job="troupe"})', { "jobs/ok": JOBS }, (m) => `${m.queue}/${m.outcome}`);
    await expectSum('sum by (kind, outcome) (troupe_actor_sql_statements_total{job="troupe", actor_name="jobBoard"})', { "insert/ok": JOBS, "insert/error": 0 }, (m) => `${m.kind}/${m.outcome}`, true);
    await expectSum('sum by (op) (troupe_actor_kv_operations_total{job="troupe", actor_name="jobBoard"})', { get: JOBS + 1, put: JOBS }, (m) => m.op!);
    await expectSum('sum(troupe_actor_schedule_alarms_pending{job="troupe"})', { "": 1 }, () => "");
    await expectSum('sum by (actor_name, kind) (troupe_actor_starts_total{job="troupe", kind="create"})', { "counter/create": 5, "chatRoom/create": 1, "jobBoard/create": 1, "faulty/create": 1 }, (m) => `${m.actor_name}/${m.kind}`);

    // Everything sleeps (500 ms idle), and the gauges return to zero.
    await expectSum('sum(troupe_actors_active{job="troupe"})', { "": 0 }, () => "");
    await expectSum('sum(troupe_actor_connections_active{job="troupe"}) + sum(troupe_actor_inbox_depth{job="troupe"})', { "": 0 }, () => "");
    await expectSum('sum by (actor_name) (troupe_actor_stops_total{job="troupe", reason="sleep"})', { counter: 5, chatRoom: 1, jobBoard: 1, faulty: 1 }, (m) => m.actor_name!);
    // ...and wake on the next call.
    await client.counter.getOrCreate(["c0"]).get();
    await expectSum('sum(troupe_actor_starts_total{job="troupe", actor_name="counter", kind="wake"})', { "": 1 }, () => "");

    await expectSum('up{job="troupe"}', { troupe: 1 }, (m) => m.job!);
    // The recording rules evaluate.
    await waitFor(async () => (await query('troupe:actor_action_calls:rate5m{actor_name="counter",outcome="ok"}')).length > 0, 20_000, "recording rule");
    assert.ok((await query("troupe:actors_active:sum")).length >= 4);

    // A wrong token: the target is down, with the 401 as its error.
    await expectSum('up{job="troupe-wrong-token"}', { "troupe-wrong-token": 0 }, (m) => m.job!);
    const targets = (await (await fetch(`${api}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> } };
    const wrong = targets.data.activeTargets.find((t) => t.labels.job === "troupe-wrong-token")!;
    assert.equal(wrong.health, "down");
    assert.match(wrong.lastError, /401/);
  } finally {
    prom?.kill("SIGTERM");
    server?.child.kill("SIGTERM");
    await Promise.all([prom && new Promise((r) => (prom!.exitCode !== null ? r(null) : prom!.once("exit", r))), server?.exited]);
    await sleep(10);
  }
});
