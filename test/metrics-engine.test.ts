import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry as PromRegistry, Counter as PromCounter, Histogram as PromHistogram } from "prom-client";
import { MetricsRegistry, MetricDefinitionError, negotiateFormat, contentTypeFor, registerNodeRuntimeMetrics } from "../src/metrics/index.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";

describe("metric families", () => {
  test("counter: bound handles, exact values, no negative increments", async () => {
    const r = new MetricsRegistry();
    const c = r.counter({ name: "jobs_total", help: "Jobs.", labelNames: ["kind"] });
    const a = c.labels("a");
    a.inc();
    a.inc(2.5);
    c.labels("b").inc(4);
    assert.equal(c.labels("a"), a, "binding the same values returns the same handle");
    assert.throws(() => a.inc(-1), RangeError);
    assert.throws(() => a.inc(Number.NaN), RangeError);
    const s = parseSamples(await r.render());
    assert.equal(sampleValue(s, "jobs_total", { kind: "a" }), 3.5);
    assert.equal(sampleValue(s, "jobs_total", { kind: "b" }), 4);
  });

  test("gauge: set, inc, dec; histogram: cumulative buckets, sum, count", async () => {
    const r = new MetricsRegistry();
    const g = r.gauge({ name: "queue_size", help: "Q." });
    g.set(10);
    g.inc(5);
    g.dec(3);
    const h = r.histogram({ name: "op_duration_seconds", help: "Op.", unit: "seconds", buckets: [0.1, 1, 10] });
    for (const v of [0.05, 0.1, 0.5, 2, 20]) h.observe(v);
    const s = parseSamples(await r.render());
    assert.equal(sampleValue(s, "queue_size"), 12);
    assert.equal(sampleValue(s, "op_duration_seconds_bucket", { le: "0.1" }), 2, "le is inclusive");
    assert.equal(sampleValue(s, "op_duration_seconds_bucket", { le: "1" }), 3);
    assert.equal(sampleValue(s, "op_duration_seconds_bucket", { le: "10" }), 4);
    assert.equal(sampleValue(s, "op_duration_seconds_bucket", { le: "+Inf" }), 5);
    assert.equal(sampleValue(s, "op_duration_seconds_count"), 5);
    assert.equal(sampleValue(s, "op_duration_seconds_sum"), 22.65);
  });

  test("definitions are checked: names, suffixes, units, labels, duplicates", () => {
    const r = new MetricsRegistry();
    assert.throws(() => r.counter({ name: "no_suffix", help: "x" }), /must end with _total/);
    assert.throws(() => r.gauge({ name: "things_count", help: "x" }), /must not end with _count/);
    assert.throws(() => r.gauge({ name: "bad-name", help: "x" }), MetricDefinitionError);
    assert.throws(() => r.gauge({ name: "latency_ms", help: "x", unit: "seconds" }), /must end with its unit/);
    assert.throws(() => r.histogram({ name: "h_seconds", help: "x", labelNames: ["le"] }), /reserved/);
    assert.throws(() => r.gauge({ name: "g", help: "x", labelNames: ["a", "a"] }), /duplicate/);
    assert.throws(() => r.histogram({ name: "h2_seconds", help: "x", buckets: [1, 1] }), /strictly increasing/);
    r.gauge({ name: "taken", help: "x" });
    assert.throws(() => r.gauge({ name: "taken", help: "x" }), /already registered/);
    assert.throws(() => r.gauge({ name: "g2", help: "x", labelNames: ["a"] }).labels(), /takes 1 label values/);
  });
});

describe("cardinality guard", () => {
  test("series past the limit fold into __overflow__, counted, with one warning per family", async () => {
    const warnings: unknown[] = [];
    const r = new MetricsRegistry({ maxSeriesPerFamily: 3, logger: { warn: (o) => warnings.push(o) } });
    const c = r.counter({ name: "hits_total", help: "Hits.", labelNames: ["path"] });
    for (let i = 0; i < 10; i++) c.labels(`/p${i}`).inc();
    c.labels("/p0").inc();
    const s = parseSamples(await r.render());
    assert.equal(s.filter((x) => x.name === "hits_total").length, 4, "3 series plus the overflow series");
    assert.equal(sampleValue(s, "hits_total", { path: "__overflow__" }), 7);
    assert.equal(sampleValue(s, "hits_total", { path: "/p0" }), 2);
    assert.equal(sampleValue(s, "troupe_metrics_series_overflow_total", { metric: "hits_total" }), 7);
    assert.equal(warnings.length, 1);
  });
});

describe("exposition", () => {
  test("escapes label values and HELP; formats NaN and infinities", async () => {
    const r = new MetricsRegistry();
    const g = r.gauge({ name: "weird", help: 'Back\\slash and\nnewline and "quotes".', labelNames: ["v"] });
    g.labels('a"b\\c\nd').set(Number.NaN);
    g.labels("pos").set(Number.POSITIVE_INFINITY);
    g.labels("neg").set(Number.NEGATIVE_INFINITY);
    const text = await r.render("prometheus");
    assert.ok(text.includes('# HELP weird Back\\\\slash and\\nnewline and "quotes".\n'));
    assert.ok(text.includes('weird{v="a\\"b\\\\c\\nd"} NaN\n'));
    assert.ok(text.includes('weird{v="pos"} +Inf\n'));
    assert.ok(text.includes('weird{v="neg"} -Inf\n'));
    const om = await r.render("openmetrics");
    assert.ok(om.includes('# HELP weird Back\\\\slash and\\nnewline and \\"quotes\\".\n'), "OpenMetrics also escapes quotes in HELP");
  });

  test("OpenMetrics: counter family without _total, # UNIT, a single # EOF at the end", async () => {
    const r = new MetricsRegistry();
    r.counter({ name: "bytes_sent_bytes_total", help: "Sent.", unit: "bytes" }).inc(3);
    r.histogram({ name: "wait_seconds", help: "Wait.", unit: "seconds", buckets: [1] }).observe(0.5);
    const om = await r.render("openmetrics");
    assert.ok(om.includes("# TYPE bytes_sent_bytes counter\n# UNIT bytes_sent_bytes bytes\nbytes_sent_bytes_total 3\n"));
    assert.ok(om.includes("# TYPE wait_seconds histogram\n# UNIT wait_seconds seconds\n"));
    assert.ok(om.endsWith("# EOF\n"));
    assert.equal(om.match(/# EOF/g)!.length, 1);
    const text = await r.render("prometheus");
    assert.ok(text.includes("# TYPE bytes_sent_bytes_total counter\nbytes_sent_bytes_total 3\n"));
    assert.ok(!text.includes("# EOF") && !text.includes("# UNIT"));
  });

  test("families render in a stable (sorted) order", async () => {
    const r = new MetricsRegistry();
    r.gauge({ name: "zeta", help: "z" }).set(1);
    r.gauge({ name: "alpha", help: "a" }).set(1);
    const names = (await r.render()).split("\n").filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2]);
    assert.deepEqual(names, [...names].sort());
    assert.equal(await r.render(), await r.render());
  });
});

describe("content negotiation", () => {
  const cases: Array<[string | null, "prometheus" | "openmetrics"]> = [
    [null, "prometheus"],
    ["", "prometheus"],
    ["*/*", "prometheus"],
    ["text/plain", "prometheus"],
    ["text/plain;version=0.0.4", "prometheus"],
    ["application/openmetrics-text", "openmetrics"],
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"],
    // What Prometheus 2.x sends by default:
    ["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "openmetrics"],
    ["text/plain;q=0.9, application/openmetrics-text;q=0.5", "prometheus"],
    ["text/plain;q=0.5, application/openmetrics-text;q=0.9", "openmetrics"],
    ["application/openmetrics-text;q=0", "prometheus"],
    ["application/openmetrics-text;version=0.0.1", "prometheus"],
    ["application/json", "prometheus"],
    [";;;,,garbage", "prometheus"],
  ];
  for (const [accept, expected] of cases) {
    test(`Accept ${JSON.stringify(accept)} -> ${expected}`, () => assert.equal(negotiateFormat(accept), expected));
  }
  test("content types", () => {
    assert.equal(contentTypeFor("prometheus"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(contentTypeFor("openmetrics"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
});

describe("user metrics from prom-client", () => {
  test("a prom-client registry is merged into the same response", async () => {
    const prom = new PromRegistry();
    new PromCounter({ name: "app_orders_total", help: "Orders.", labelNames: ["shop"], registers: [prom] }).inc({ shop: "a" }, 2);
    new PromHistogram({ name: "app_latency_seconds", help: "Latency.", buckets: [1], registers: [prom] }).observe(0.5);
    const r = new MetricsRegistry();
    r.gauge({ name: "troupe_thing", help: "x" }).set(1);
    await r.mergePromClient(prom);
    const s = parseSamples(await r.render());
    assert.equal(sampleValue(s, "app_orders_total", { shop: "a" }), 2);
    assert.equal(sampleValue(s, "app_latency_seconds_bucket", { le: "1" }), 1);
    assert.equal(sampleValue(s, "troupe_thing"), 1);
    const om = await r.render("openmetrics");
    assert.ok(om.includes("# TYPE app_orders counter\n") && om.includes('app_orders_total{shop="a"} 2\n'));
    assert.equal(om.match(/# EOF/g)!.length, 1);
  });

  test("a name collision is a clear error at merge time", async () => {
    const prom = new PromRegistry();
    new PromCounter({ name: "troupe_dup_total", help: "x", registers: [prom] });
    const r = new MetricsRegistry();
    r.counter({ name: "troupe_dup_total", help: "x" });
    await assert.rejects(r.mergePromClient(prom), /collides with a Troupe metric/);
  });
});

describe("node runtime metrics", () => {
  test("prom-client's names, with plausible values read at scrape time", async () => {
    const r = new MetricsRegistry();
    const stop = registerNodeRuntimeMetrics(r);
    try {
      global.gc?.();
      const s = parseSamples(await r.render());
      assert.ok(sampleValue(s, "process_cpu_seconds_total") > 0);
      assert.ok(sampleValue(s, "process_resident_memory_bytes") > 10 * 1024 * 1024);
      const start = sampleValue(s, "process_start_time_seconds");
      assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 5, "start time within 5 s of the real one");
      assert.ok(sampleValue(s, "nodejs_eventloop_lag_seconds") >= 0);
      assert.ok(sampleValue(s, "nodejs_heap_size_used_bytes") > 1024 * 1024);
      for (const kind of ["major", "minor", "incremental", "weakcb"]) assert.ok(sampleValue(s, "nodejs_gc_duration_seconds_count", { kind }) >= 0);
    } finally {
      stop();
    }
  });
});
