import assert from "node:assert/strict";
import { test } from "node:test";
import { declareActorMetrics, MetricsRegistry, registerBuildInfo, registerNodeRuntimeMetrics } from "../src/metrics/index.js";
import { KV_OPS } from "../src/actor/kv.js";
import { SQL_KINDS } from "../src/actor/sql.js";
import { promtoolCheckMetrics } from "./helpers/promtool.js";

test("a fully populated exposition passes `promtool check metrics` with zero findings", async () => {
  const r = new MetricsRegistry({ maxSeriesPerFamily: 40 });
  const stop = registerNodeRuntimeMetrics(r);
  try {
    registerBuildInfo(r, { version: "0.1.0", mode: "embedded" });
    const actors = declareActorMetrics(r);
    for (const [name, actions] of [["counter", ["increment", "get"]], ["chatRoom", ["post", "history"]]] as const) {
      const m = actors.forActorType(name, actions, ["inbox"], { onRequest: true, onWebSocket: true });
      m.actorsActive.inc();
      m.starts.create.inc();
      m.startDuration.observe(0.002);
      m.stops.sleep.inc();
      for (const a of actions) {
        m.actions.get(a)!.ok.inc(3);
        m.actions.get(a)!.duration.observe(0.0004);
      }
      m.connectionsOpened.inc();
      m.connectionsClosed("client_closed").inc();
      m.stateCommits.inc();
      m.stateCommitDuration.observe(0.0002);
      m.stateBytes.observe(120);
      // Capability series are bound on first use: touch every one.
      for (const op of KV_OPS) m.kv(op).duration.observe(0.00002);
      for (const kind of SQL_KINDS) m.sql(kind).duration.observe(0.00005);
      m.alarms().lateness.observe(0.001);
      m.http!.requests["2xx"].inc();
      m.websocketsActive!.inc();
      m.queues.get("inbox")!.wait.observe(0.003);
    }
    // Overflowed family, plus the overflow counter it drives.
    const user = r.counter({ name: "app_requests_total", help: "Requests by path.", labelNames: ["path"] });
    for (let i = 0; i < 60; i++) user.labels(`/p/${i}`).inc();
    const text = await r.render("prometheus");
    assert.ok(text.includes('path="__overflow__"'));
    const { status, output } = promtoolCheckMetrics(text);
    assert.equal(output.trim(), "", "no findings");
    assert.equal(status, 0);
  } finally {
    stop();
  }
});
