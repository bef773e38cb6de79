import assert from "node:assert/strict";
import { test } from "node:test";
import { actor } from "../src/index.js";
import { startServer } from "./helpers/harness.js";

const TOKEN = "label-safety-token";
const a = actor({ state: {}, queues: { q: {} }, actions: { ok: () => 1 } });

async function seriesCount(routes: { prometheusMetrics(r: Request): Promise<Response> }): Promise<{ lines: number; bytes: number }> {
  const text = await (await routes.prometheusMetrics(new Request("http://x/metrics", { headers: { authorization: `Bearer ${TOKEN}` } }))).text();
  // Sample lines only: values change, the set of series must not.
  return { lines: text.split("\n").filter((l) => l && !l.startsWith("#")).length, bytes: text.length };
}

test("100,000 distinct unknown action names, queue names and paths add no metric series", { timeout: 300_000 }, async () => {
  const N = Number(process.env.TROUPE_LABEL_SAFETY_COUNT ?? 100_000);
  const h = await startServer({ use: { a }, metrics: { token: TOKEN } });
  try {
    const id = await h.client.a.getOrCreate(["x"]).resolve();
    await h.client.a.getOrCreate(["x"]).ok();
    const before = await seriesCount(h.registry.routes);
    // In process through the same handler the server uses: 100,000 loopback requests would take minutes here.
    let refused = 0;
    for (let i = 0; i < N; i++) {
      const r = i % 3 === 0
        ? new Request(`http://x/gateway/${id}/action/unknown-${i}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"args":[]}' })
        : i % 3 === 1
          ? new Request(`http://x/gateway/${id}/queue/nope-${i}`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"body":1,"name":"nope-${i}","wait":false}` })
          : new Request(`http://x/random/path/${i}/${"z".repeat(i % 50)}`);
      const res = await h.registry.handler(r);
      if (res.status === 404) refused++;
      const text = await res.text();
      // The first few show each kind is refused by the actor (or the router) for the name, not for something else.
      if (i < 30) assert.equal((JSON.parse(text) as { code: string }).code, ["action_not_found", "queue_not_found", "route_not_found"][i % 3], `request ${i}`);
    }
    assert.equal(refused, N, "every unknown name and path is a 404");
    const after = await seriesCount(h.registry.routes);
    assert.equal(after.lines, before.lines, "no new series");
  } finally {
    await h.close();
  }
});
