import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { describe, test } from "node:test";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { createRoutes, resolveMetricsAuth, type HealthStatus, type RouteDeps } from "../src/routes/index.js";
import { actor, setup, VERSION } from "../src/index.js";
import { contentTypeFor, negotiateFormat } from "../src/metrics/index.js";
import { quietLogger } from "./helpers/harness.js";

const TOKEN = "s3cret-token-value-0123456789";
const silent = { warn: () => {}, error: () => {} };

function deps(overrides: Partial<RouteDeps> = {}, status: HealthStatus = "ok"): RouteDeps {
  return {
    version: VERSION,
    health: () => status,
    metadata: () => ({ mode: "embedded", protocolVersion: 1, actorNames: { counter: { actions: ["increment"] } } }),
    renderMetrics: async (format) => (format === "openmetrics" ? "# EOF\n" : "up_thing 1\n"),
    negotiateFormat,
    contentTypeFor,
    metricsAuth: resolveMetricsAuth({ token: TOKEN }, {}, silent),
    log: silent,
    ...overrides,
  };
}

const get = (path: string, headers: Record<string, string> = {}, method = "GET") => new Request(`http://localhost${path}`, { method, headers });

describe("/metrics authentication matrix", () => {
  const routes = createRoutes(deps());
  const cases: Array<[string, Record<string, string>, number, string | null]> = [
    ["no header", {}, 401, 'Bearer realm="troupe-metrics"'],
    ["wrong scheme", { authorization: `Basic ${TOKEN}` }, 401, 'Bearer realm="troupe-metrics"'],
    ["empty token", { authorization: "Bearer " }, 401, 'Bearer realm="troupe-metrics"'],
    ["scheme only", { authorization: "Bearer" }, 401, 'Bearer realm="troupe-metrics"'],
    ["one byte short", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 401, 'Bearer realm="troupe-metrics", error="invalid_token"'],
    ["one byte long", { authorization: `Bearer ${TOKEN}x` }, 401, 'Bearer realm="troupe-metrics", error="invalid_token"'],
    ["very long token", { authorization: `Bearer ${"a".repeat(100_000)}` }, 401, 'Bearer realm="troupe-metrics", error="invalid_token"'],
    ["two tokens", { authorization: `Bearer ${TOKEN} ${TOKEN}` }, 401, 'Bearer realm="troupe-metrics"'],
    ["lowercase bearer", { authorization: `bearer ${TOKEN}` }, 200, null],
    ["uppercase BEARER", { authorization: `BEARER ${TOKEN}` }, 200, null],
    ["extra whitespace", { authorization: `  Bearer    ${TOKEN}  ` }, 200, null],
    ["correct token", { authorization: `Bearer ${TOKEN}` }, 200, null],
  ];
  for (const [name, headers, status, challenge] of cases) {
    test(`${name} -> ${status}`, async () => {
      const res = await routes.prometheusMetrics(get("/metrics", headers));
      assert.equal(res.status, status);
      assert.equal(res.headers.get("www-authenticate"), challenge);
      const body = await res.text();
      assert.ok(!body.includes(TOKEN), "the token never appears in a response");
      if (status === 200) assert.equal(body, "up_thing 1\n");
    });
  }

  test("no token configured -> 403 saying how to enable it", async () => {
    const r = createRoutes(deps({ metricsAuth: resolveMetricsAuth(undefined, {}, silent) }));
    const res = await r.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}` }));
    assert.equal(res.status, 403);
    assert.match(await res.text(), /^metrics not enabled: set TROUPE_METRICS_TOKEN/);
  });

  test('auth "none" serves without a token and warns at startup', async () => {
    const warnings: unknown[] = [];
    const auth = resolveMetricsAuth({ auth: "none" }, {}, { warn: (o) => warnings.push(o) });
    assert.equal(warnings.length, 1);
    const res = await createRoutes(deps({ metricsAuth: auth })).prometheusMetrics(get("/metrics"));
    assert.equal(res.status, 200);
  });

  test("TROUPE_METRICS_TOKEN is used; a config token takes precedence", async () => {
    const fromEnv = createRoutes(deps({ metricsAuth: resolveMetricsAuth(undefined, { TROUPE_METRICS_TOKEN: "env-token" }, silent) }));
    assert.equal((await fromEnv.prometheusMetrics(get("/metrics", { authorization: "Bearer env-token" }))).status, 200);
    const both = createRoutes(deps({ metricsAuth: resolveMetricsAuth({ token: "cfg-token" }, { TROUPE_METRICS_TOKEN: "env-token" }, silent) }));
    assert.equal((await both.prometheusMetrics(get("/metrics", { authorization: "Bearer cfg-token" }))).status, 200);
    assert.equal((await both.prometheusMetrics(get("/metrics", { authorization: "Bearer env-token" }))).status, 401);
  });

  test("an unusable configured token is a startup error that does not echo it", () => {
    assert.throws(() => resolveMetricsAuth({ token: "" }, {}, silent), /is empty/);
    assert.throws(() => resolveMetricsAuth({ token: "has space" }, {}, silent), (e: Error) => /whitespace/.test(e.message) && !e.message.includes("has space"));
    assert.throws(() => resolveMetricsAuth(undefined, { TROUPE_METRICS_TOKEN: "tab\there" }, silent), /TROUPE_METRICS_TOKEN/);
  });

  test("negotiation: the Accept header picks the format and content type", async () => {
    const res = await routes.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}`, accept: "application/openmetrics-text; version=1.0.0" }));
    assert.equal(res.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert.equal(await res.text(), "# EOF\n");
    const plain = await routes.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}` }));
    assert.equal(plain.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(plain.headers.get("cache-control"), "no-store");
  });

  test("gzip when the scraper accepts it (Prometheus does), plain otherwise", async () => {
    const { gunzipSync } = await import("node:zlib");
    const gz = await routes.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}`, "accept-encoding": "gzip" }));
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(gz.headers.get("vary"), "Accept-Encoding");
    assert.equal(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString(), "up_thing 1\n");
    const refused = await routes.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}`, "accept-encoding": "gzip;q=0, identity" }));
    assert.equal(refused.headers.get("content-encoding"), null);
    assert.equal(await refused.text(), "up_thing 1\n");
  });

  test("a render failure is a 500 without details", async () => {
    const r = createRoutes(deps({ renderMetrics: async () => Promise.reject(new Error("boom internals")) }));
    const res = await r.prometheusMetrics(get("/metrics", { authorization: `Bearer ${TOKEN}` }));
    assert.equal(res.status, 500);
    assert.ok(!(await res.text()).includes("boom"));
  });
});

describe("health and metadata", () => {
  for (const [status, code] of [["starting", 503], ["ok", 200], ["stopping", 503]] as const) {
    test(`health ${status} -> ${code}`, async () => {
      const res = await createRoutes(deps({}, status)).health(get("/health"));
      assert.equal(res.status, code);
      // The version is shown only with the inspector token or `metadata.public: "full"` (test/metadata-exposure.test.ts).
      assert.deepEqual(await res.json(), { status, runtime: "troupe" });
    });
  }

  test("version is package.json's", async () => {
    const { createRequire } = await import("node:module");
    assert.equal(VERSION, (createRequire(import.meta.url)("../package.json") as { version: string }).version);
  });

  test("metadata describes the actors and carries no secret", async () => {
    process.env.TROUPE_TEST_SECRET_ENV = "env-secret-value";
    try {
      const res = await createRoutes(deps()).metadata(get("/metadata"));
      const text = await res.text();
      // By default names only; actions and version need the inspector token (test/metadata-exposure.test.ts).
      assert.deepEqual(JSON.parse(text), { runtime: "troupe", mode: "embedded", protocolVersion: 1, actorNames: { counter: {} } });
      assert.ok(!text.includes(TOKEN) && !text.includes("env-secret-value"));
    } finally {
      delete process.env.TROUPE_TEST_SECRET_ENV;
    }
  });

  test("GET and HEAD only: HEAD has the same status and headers and no body; others get 405 with Allow", async () => {
    const routes = createRoutes(deps());
    for (const route of [routes.health, routes.metadata, routes.prometheusMetrics]) {
      const head = await route(get("/x", { authorization: `Bearer ${TOKEN}` }, "HEAD"));
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
        const res = await route(get("/x", {}, method));
        assert.equal(res.status, 405);
        assert.equal(res.headers.get("allow"), "GET, HEAD");
        assert.equal(((await res.json()) as { code: string }).code, "method_not_allowed");
      }
    }
  });
});

describe("mounting the routes in a user's own Hono app", () => {
  test("each route mounts at a path of the user's choosing and behaves the same over real HTTP", async () => {
    const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n } });
    const registry = setup({ use: { counter }, storage: { driver: "memory" }, logger: quietLogger, metrics: { token: TOKEN } });
    await registry.start();
    const app = new Hono();
    app.on(["GET", "HEAD"], "/ops/healthz", (c) => registry.routes.health(c.req.raw));
    app.all("/ops/meta", (c) => registry.routes.metadata(c.req.raw));
    app.all("/ops/prom", (c) => registry.routes.prometheusMetrics(c.req.raw));
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/ops/healthz`)).status, 200);
      const meta = (await (await fetch(`${base}/ops/meta`)).json()) as { actorNames: unknown };
      assert.deepEqual(meta.actorNames, { counter: {} });
      assert.equal((await fetch(`${base}/ops/prom`)).status, 401);
      const prom = await fetch(`${base}/ops/prom`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(prom.status, 200);
      assert.match(await prom.text(), /troupe_build_info\{version="[^"]+",mode="memory"\} 1/);
      assert.equal((await fetch(`${base}/ops/meta`, { method: "POST" })).status, 405);
    } finally {
      await registry.shutdown();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("health states of a real registry", () => {
  test("starting until the store is open, ok while serving, stopping during shutdown", async () => {
    const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n } });
    const registry = setup({ use: { counter }, storage: { driver: "memory" }, logger: quietLogger });
    const first = await registry.routes.health(get("/health"));
    assert.equal(first.status, 503);
    assert.equal(((await first.json()) as { status: string }).status, "starting");
    await registry.start();
    const serving = await registry.routes.health(get("/health"));
    assert.equal(serving.status, 200);
    const stopping = registry.shutdown();
    const during = await registry.routes.health(get("/health"));
    assert.equal(during.status, 503);
    assert.equal(((await during.json()) as { status: string }).status, "stopping");
    await stopping;
    assert.equal((await registry.routes.health(get("/health"))).status, 503);
  });
});
