import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { createClient } from "../src/client/index.js";
import { tempDir } from "./helpers/harness.js";

const METRICS_TOKEN = "mtok-5f1d9c2e-secret";
const INSPECTOR_TOKEN = "itok-8a7b6c5d-secret";
const PARAM_SECRET = "param-secret-3e4f";

test("no configured token and no secret connection param ever reaches the logs, even at trace level", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/e2e-server.ts"], {
    env: { ...process.env, TROUPE_LOG_LEVEL: "trace", TROUPE_DATA_DIR: path.join(tempDir(), "data"), TROUPE_METRICS_TOKEN: METRICS_TOKEN, TROUPE_INSPECTOR_TOKEN: INSPECTOR_TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stdout.on("data", (d) => (logs += d));
  child.stderr.on("data", (d) => (logs += d));
  const exited = new Promise((r) => child.once("exit", r));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start: ${logs}`)), 20_000);
      child.stdout.on("data", () => {
        const m = /\{"url":"([^"]+)"/.exec(logs);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    for (const headers of [bearer(METRICS_TOKEN), bearer(`${METRICS_TOKEN}x`), bearer(INSPECTOR_TOKEN), {}]) {
      await fetch(`${url}/metrics`, { headers });
      await fetch(`${url}/inspector/actors`, { headers });
    }
    const client = createClient<any>(url) as any;
    const room = client.chatRoom.getOrCreate(["lobby"]).connect({ params: { username: "ada", secret: PARAM_SECRET } });
    await room.post("hello");
    await room.dispose();
    await client.faulty.getOrCreate(["f"]).crash().catch(() => {});
    await client.counter.getOrCreate(["c"]).increment("bad").catch(() => {});
    await fetch(`${url}/gateway/x/action/y`, { method: "POST", headers: { ...bearer(METRICS_TOKEN), "content-type": "application/json" }, body: "{" });
    const inspected = await (await fetch(`${url}/inspector/actors`, { headers: bearer(INSPECTOR_TOKEN) })).text();
    assert.ok(inspected.includes("actors"), "the inspector answered");
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  assert.ok(logs.length > 1000, "trace logging produced output");
  for (const secret of [METRICS_TOKEN, INSPECTOR_TOKEN, PARAM_SECRET]) assert.ok(!logs.includes(secret), `${secret} leaked into the logs`);
});
