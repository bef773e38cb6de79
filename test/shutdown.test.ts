import assert from "node:assert/strict";
import { test } from "node:test";
import { actor } from "../src/index.js";
import { sleep, startServer } from "./helpers/harness.js";

const events: string[] = [];

const worker = actor({
  state: { done: 0 },
  onSleep: (c) => {
    events.push(`sleep:${c.key[0]}:${c.state.done}`);
  },
  actions: {
    work: async (c, ms: number) => {
      await sleep(ms);
      c.state.done += 1;
      return c.state.done;
    },
  },
});

test("server.close() drains in-flight actions, refuses new work, runs onSleep, then stops", async () => {
  const h = await startServer({ use: { worker } });
  const handle = h.client.worker.getOrCreate(["w"]);
  await handle.work(0);
  const conn = h.client.worker.getOrCreate(["c"]).connect();
  await conn.work(0);
  const closedInfo = new Promise<{ code: number; reason: string }>((r) => conn.onClose(r));

  const inFlight = handle.work(300);
  await sleep(50);
  const closing = h.close();
  await sleep(20);
  // The listener stops accepting sockets at once, so ask the same handlers in process.
  const health = await h.registry.routes.health(new Request("http://x/health"));
  assert.equal(health.status, 503);
  assert.equal(((await health.json()) as { status: string }).status, "stopping");
  const refused = await h.registry.handler(new Request("http://x/gateway/x/action/work", { method: "POST", headers: { "content-type": "application/json" }, body: '{"args":[0]}' }));
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { code: string }).code, "server_stopping");
  assert.equal(await inFlight, 2, "the in-flight action finished and was answered");
  await closing;
  assert.deepEqual(await closedInfo, { code: 1001, reason: "shutdown", reconnecting: true }, "the client will look for the server again");
  await conn.dispose();
  assert.deepEqual(events.sort(), ["sleep:c:1", "sleep:w:2"]);
  await assert.rejects(fetch(`${h.url}/health`), "the port is closed");
});
