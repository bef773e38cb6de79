import assert from "node:assert/strict";
import { test } from "node:test";
import { declareActorMetrics, MetricsRegistry, registerBuildInfo, registerNodeRuntimeMetrics } from "../src/metrics/index.js";
import { promtoolCheckMetrics } from "./helpers/promtool.js";

test("a fully populated exposition passes `promtool check metrics` with zero findings", async () => {
  const r = new MetricsRegistry({ maxSeriesPerFamily: 40 });
  const stop = registerNodeRuntimeMetrics(r);
  try {
    registerBuildInfo(r, { version: "0.1.0", mode: "embedded" });
    const actors = declareActorMetrics(r);
    for (const [name, actions] of [["counter", ["increment", "get"]], ["chatRoom", ["send", "history"]]] as const) {
      const m = actors.forActorType(name, actions);
      m.actorsActive.inc();
      m.starts.create.inc();
      m.startDuration.create.observe(0.002);
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
