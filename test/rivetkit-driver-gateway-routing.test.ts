import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connFixtures } from "./rk-driver/fixtures-conn.js";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite modules gateway-routing (tests/driver/gateway-routing.test.ts)
// and gateway-query-url (tests/driver/gateway-query-url.test.ts): how requests find an actor, by
// RivetKit's routing headers or by the gateway's `rvt-*` query parameters, including the URLs the
// real rivetkit 2.3.19 client builds with handle.getGatewayUrl().

const use = { ...ioFixtures, counter: connFixtures.counter };

/** A gateway URL with `path` appended to its pathname (its rvt-* query kept). */
function withPath(gatewayUrl: string, path: string): URL {
  const url = new URL(gatewayUrl);
  url.pathname = `${url.pathname.replace(/\/$/, "")}${path}`;
  return url;
}

/** A query-routed URL for rawHttpActor's `/api/hello`, with the namespace and runner of `gatewayUrl`. */
function queryUrl(endpoint: string, gatewayUrl: string, actor: string, path: string, params: Record<string, string>): URL {
  const parsed = new URL(gatewayUrl);
  const url = new URL(`${endpoint}/gateway/${actor}/request/${path}`);
  url.searchParams.set("rvt-namespace", parsed.searchParams.get("rvt-namespace")!);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const runner = parsed.searchParams.get("rvt-runner");
  if (runner !== null && params["rvt-method"] !== "get") url.searchParams.set("rvt-runner", runner);
  return url;
}

describeDriverMatrix("RivetKit driver: gateway routing", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, use, encoding);

  describe("header-based routing", () => {
    test("x-rivet-target: actor and x-rivet-actor route /request/... to onRequest", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["header-routing"]);
      await handle.fetch("api/hello");
      const res = await fetch(`${endpoint}/request/api/hello`, { headers: { "x-rivet-target": "actor", "x-rivet-actor": await handle.resolve() } });
      assert.equal(res.ok, true, `status ${res.status}`);
      assert.deepEqual(await res.json(), { message: "Hello from actor!" });
    });

    test("a path other than /request/... is not routed to onRequest", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["header-routing-no-request"]);
      await handle.fetch("api/hello");
      const res = await fetch(`${endpoint}/api/hello`, { headers: { "x-rivet-target": "actor", "x-rivet-actor": await handle.resolve() } });
      assert.equal(res.ok, false);
      await res.body?.cancel();
    });

    test("x-rivet-target without x-rivet-actor is refused", T, async (t) => {
      const { endpoint } = await setup(t);
      const res = await fetch(`${endpoint}/api/hello`, { headers: { "x-rivet-target": "actor" } });
      assert.equal(res.ok, false);
      await res.body?.cancel();
    });
  });

  describe("query-based routing (rvt-*)", () => {
    test("rvt-method=getOrCreate with rvt-key", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["query-routing"]);
      await handle.fetch("api/hello");
      const res = await fetch(queryUrl(endpoint, await handle.getGatewayUrl(), "rawHttpActor", "api/hello", { "rvt-method": "getOrCreate", "rvt-key": "query-routing" }));
      assert.equal(res.ok, true, `status ${res.status}`);
      assert.deepEqual(await res.json(), { message: "Hello from actor!" });
    });

    test("rvt-method=get with rvt-key", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["query-get-routing"]);
      await handle.fetch("api/hello");
      const res = await fetch(queryUrl(endpoint, await handle.getGatewayUrl(), "rawHttpActor", "api/hello", { "rvt-method": "get", "rvt-key": "query-get-routing" }));
      assert.equal(res.ok, true, `status ${res.status}`);
      assert.deepEqual(await res.json(), { message: "Hello from actor!" });
    });

    test("an unknown rvt-* parameter is refused", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["query-unknown-param"]);
      await handle.fetch("api/hello");
      const res = await fetch(queryUrl(endpoint, await handle.getGatewayUrl(), "rawHttpActor", "api/hello", { "rvt-method": "getOrCreate", "rvt-key": "query-unknown-param", "rvt-bogus": "invalid" }));
      assert.equal(res.ok, false, `status ${res.status}`);
      await res.body?.cancel();
    });

    test("a repeated scalar rvt-* parameter is refused", T, async (t) => {
      const { endpoint } = await setup(t);
      const res = await fetch(`${endpoint}/gateway/rawHttpActor/request/api/hello?rvt-namespace=a&rvt-namespace=b&rvt-method=get&rvt-key=dup`);
      assert.equal(res.ok, false);
      await res.body?.cancel();
    });

    test("rvt-* parameters are stripped before the actor sees the URL; its own are kept", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpRequestPropertiesActor.getOrCreate(["rvt-strip"]);
      await (await handle.fetch("test-path")).body?.cancel();
      const url = queryUrl(endpoint, await handle.getGatewayUrl(), "rawHttpRequestPropertiesActor", "test-path", { "rvt-method": "getOrCreate", "rvt-key": "rvt-strip", myParam: "myValue" });
      const res = await fetch(url);
      assert.equal(res.ok, true, `status ${res.status}`);
      const { url: seen } = (await res.json()) as { url: string };
      assert.ok(seen.includes("myParam=myValue"), seen);
      for (const p of ["rvt-namespace", "rvt-method", "rvt-key", "rvt-runner"]) assert.ok(!seen.includes(p), `${p} in ${seen}`);
    });

    test("a multi-part key travels comma-separated in rvt-key", T, async (t) => {
      const { client, endpoint } = await setup(t);
      const handle = client.rawHttpActor.getOrCreate(["tenant", "room"]);
      await handle.fetch("api/hello");
      const res = await fetch(queryUrl(endpoint, await handle.getGatewayUrl(), "rawHttpActor", "api/hello", { "rvt-method": "getOrCreate", "rvt-key": "tenant,room" }));
      assert.equal(res.ok, true, `status ${res.status}`);
      assert.deepEqual(await res.json(), { message: "Hello from actor!" });
    });
  });

  // gateway-query-url.test.ts. RivetKit probes the URL with its inspector (`/inspector/state`),
  // which Troupe does not serve through the gateway; this port probes it with an action call.
  describe("gateway query URLs", () => {
    const countVia = async (gatewayUrl: string) => {
      const res = await fetch(withPath(gatewayUrl, "/action/getCount"), { method: "POST", headers: { "x-rivet-encoding": "json", "content-type": "application/json" }, body: JSON.stringify({ args: [] }) });
      assert.equal(res.status, 200);
      return ((await res.json()) as { output: unknown }).output;
    };

    test("getOrCreate gateway URLs carry rvt-* parameters and resolve through the gateway", T, async (t) => {
      const { client } = await setup(t);
      const handle = client.counter.getOrCreate(["gateway-query"]);
      await handle.increment(5);
      const gatewayUrl: string = await handle.getGatewayUrl();
      const q = new URL(gatewayUrl).searchParams;
      assert.ok(q.get("rvt-namespace"));
      assert.equal(q.get("rvt-method"), "getOrCreate");
      assert.equal(q.get("rvt-crash-policy"), "sleep");
      assert.equal(await countVia(gatewayUrl), 5);
    });

    test("get gateway URLs carry rvt-* parameters and resolve through the gateway", T, async (t) => {
      const { client } = await setup(t);
      await client.counter.getOrCreate(["existing-gateway-query"]).increment(2);
      const gatewayUrl: string = await client.counter.get(["existing-gateway-query"]).getGatewayUrl();
      const q = new URL(gatewayUrl).searchParams;
      assert.ok(q.get("rvt-namespace"));
      assert.equal(q.get("rvt-method"), "get");
      assert.equal(await countVia(gatewayUrl), 2);
    });
  });
});
