import assert from "node:assert/strict";
import { test } from "node:test";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module raw-http (tests/driver/raw-http.test.ts): handle.fetch()
// of the real rivetkit 2.3.19 client reaching an actor's onRequest through the gateway's
// `/request/...` path.

const USERS = [
  { id: 1, name: "Alice" },
  { id: 2, name: "Bob" },
];

describeDriverMatrix("RivetKit driver: raw http", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, ioFixtures, encoding);

  test("GET reaches onRequest", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpActor.getOrCreate(["test"]).fetch("api/hello");
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), { message: "Hello from actor!" });
  });

  test("POST with a JSON body is echoed", T, async (t) => {
    const { client } = await setup(t);
    const data = { test: "data", number: 123 };
    const res: Response = await client.rawHttpActor.getOrCreate(["test"]).fetch("api/echo", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), data);
  });

  test("state changes made by requests persist", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawHttpActor.getOrCreate(["state-test"]);
    await actor.fetch("api/hello");
    await actor.fetch("api/hello");
    await actor.fetch("api/state");
    const res: Response = await actor.fetch("api/state");
    assert.equal(res.ok, true);
    assert.equal(((await res.json()) as { requestCount: number }).requestCount, 4);
  });

  test("request headers reach onRequest", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpActor.getOrCreate(["headers-test"]).fetch("api/headers", { headers: { "X-Custom-Header": "test-value", "X-Another-Header": "another-value" } });
    assert.equal(res.ok, true);
    const headers = (await res.json()) as Record<string, string>;
    assert.equal(headers["x-custom-header"], "test-value");
    assert.equal(headers["x-another-header"], "another-value");
  });

  test("the actor's own 404 comes back", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpActor.getOrCreate(["404-test"]).fetch("api/nonexistent");
    assert.equal(res.ok, false);
    assert.equal(res.status, 404);
  });

  test("an actor without onRequest answers 404", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpNoHandlerActor.getOrCreate(["no-handler"]).fetch("api/anything");
    assert.equal(res.ok, false);
    assert.equal(res.status, 404);
  });

  test("an onRequest returning nothing answers 500, saying it must return a Response", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpVoidReturnActor.getOrCreate(["void-return"]).fetch("api/anything");
    assert.equal(res.ok, false);
    assert.equal(res.status, 500);
    // RivetKit reads the message only when the body parses as JSON; so does this port.
    const text = await res.text();
    let message: string | undefined;
    try {
      message = (JSON.parse(text) as { message?: string }).message;
    } catch {
      message = undefined;
    }
    if (message !== undefined) assert.ok(message.includes("onRequest handler must return a Response"), message);
  });

  test("methods: POST echoes, GET / PUT / DELETE / PATCH fall through to 404", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawHttpActor.getOrCreate(["methods-test"]);
    for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
      const res: Response = await actor.fetch("api/echo", { method, body: ["POST", "PUT", "PATCH"].includes(method) ? JSON.stringify({ method }) : undefined });
      if (method === "POST") {
        assert.equal(res.ok, true);
        assert.deepEqual(await res.json(), { method });
      } else {
        assert.equal(res.status, 404, method);
        await res.body?.cancel();
      }
    }
  });

  test("binary bodies are echoed byte for byte", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpActor.getOrCreate(["binary-test"]).fetch("api/echo", { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: new Uint8Array([1, 2, 3, 4, 5]) });
    assert.equal(res.ok, true);
    assert.deepEqual(Array.from(new Uint8Array(await res.arrayBuffer())), [1, 2, 3, 4, 5]);
  });

  test("a Hono router kept in vars serves every method", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawHttpHonoActor.getOrCreate(["hono-test"]);
    const json = async (res: Response, status = 200) => (assert.equal(res.status, status), res.json());
    assert.deepEqual(await json(await actor.fetch("/")), { message: "Welcome to Hono actor!" });
    assert.deepEqual(await json(await actor.fetch("/users")), USERS);
    assert.deepEqual(await json(await actor.fetch("/users/1")), { id: 1, name: "Alice" });
    const created = await actor.fetch("/users", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "Charlie" }) });
    assert.deepEqual(await json(created, 201), { id: 3, name: "Charlie" });
    const updated = await actor.fetch("/users/1", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "Alice Updated" }) });
    assert.deepEqual(await json(updated), { id: 1, name: "Alice Updated" });
    assert.deepEqual(await json(await actor.fetch("/users/2", { method: "DELETE" })), { message: "User 2 deleted" });
    const missing: Response = await actor.fetch("/api/unknown");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  test("paths with and without a leading slash are the same", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawHttpActor.getOrCreate(["path-test"]);
    for (const p of ["api/hello", "/api/hello"]) {
      const res: Response = await actor.fetch(p);
      assert.equal(res.ok, true, p);
      assert.deepEqual(await res.json(), { message: "Hello from actor!" });
    }
  });

  // A double slash would keep the Hono router from matching.
  test("no double slash reaches the actor", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpHonoActor.getOrCreate(["url-test"]).fetch("/users");
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), USERS);
  });

  test("a path with a Request as init is forwarded without a double slash", T, async (t) => {
    const { client } = await setup(t);
    const request = new Request(new URL("/users", "http://example.com"), { method: "GET" });
    const res: Response = await client.rawHttpHonoActor.getOrCreate(["forward-test"]).fetch("/users", request);
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), USERS);
  });

  test("a Request alone is forwarded by its path", T, async (t) => {
    const { client } = await setup(t);
    const res: Response = await client.rawHttpHonoActor.getOrCreate(["forward-fix"]).fetch(new Request(new URL("/users/1", "http://example.com"), { method: "GET" }));
    assert.equal(res.ok, true);
    assert.deepEqual(await res.json(), { id: 1, name: "Alice" });
  });

  test("fetch takes a URL, a Request, and a Request with extra init", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.rawHttpActor.getOrCreate(["fetch-api-test"]);
    const viaUrl: Response = await actor.fetch(new URL("/api/echo", "http://example.com"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ from: "URL object" }) });
    assert.equal(viaUrl.ok, true);
    assert.deepEqual(await viaUrl.json(), { from: "URL object" });
    const request = new Request("http://example.com/api/echo", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ from: "Request object" }) });
    const viaRequest: Response = await actor.fetch(request);
    assert.equal(viaRequest.ok, true);
    assert.deepEqual(await viaRequest.json(), { from: "Request object" });
    const request2 = new Request("http://example.com/api/headers", { method: "GET", headers: { "X-Original": "request-header" } });
    const merged: Response = await actor.fetch(request2, { headers: { "X-Override": "init-header" } });
    assert.equal(merged.ok, true);
    const headers = (await merged.json()) as Record<string, string>;
    assert.equal(headers["x-override"], "init-header");
    assert.equal(headers["x-original"], "request-header");
  });
});
