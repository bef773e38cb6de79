import assert from "node:assert/strict";
import { test } from "node:test";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, setupDriverTest } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module raw-http-request-properties (tests/driver/
// raw-http-request-properties.test.ts): the URL, method, headers and body onRequest sees for
// requests sent with handle.fetch() of the real rivetkit 2.3.19 client.

describeDriverMatrix("RivetKit driver: raw http request properties", (encoding) => {
  const setup = async (t: Parameters<typeof setupDriverTest>[0]) => (await setupDriverTest(t, ioFixtures, encoding)).client.rawHttpRequestPropertiesActor.getOrCreate(["test"]);
  const json = async (res: Response) => {
    assert.equal(res.ok, true, `status ${res.status}`);
    return (await res.json()) as any;
  };

  test("URL, query, method, headers and JSON body", T, async (t) => {
    const actor = await setup(t);
    const data = await json(
      await actor.fetch("test/path?foo=bar&baz=qux", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Custom-Header": "custom-value", Authorization: "Bearer test-token" },
        body: JSON.stringify({ test: "data" }),
      }),
    );
    assert.ok(data.url.includes("/test/path?foo=bar&baz=qux"), data.url);
    assert.equal(data.pathname, "/test/path");
    assert.equal(data.search, "?foo=bar&baz=qux");
    assert.deepEqual(data.searchParams, { foo: "bar", baz: "qux" });
    assert.equal(data.method, "POST");
    assert.equal(data.headers["content-type"], "application/json");
    assert.equal(data.headers["x-custom-header"], "custom-value");
    assert.equal(data.headers.authorization, "Bearer test-token");
    assert.deepEqual(data.body, { test: "data" });
  });

  test("a GET has no body", T, async (t) => {
    const actor = await setup(t);
    const data = await json(await actor.fetch("test/get", { method: "GET" }));
    assert.equal(data.method, "GET");
    assert.equal(data.body, null);
  });

  test("form and plain-text bodies arrive as sent, with their Content-Type", T, async (t) => {
    const actor = await setup(t);
    const form = await json(await actor.fetch("test/form", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "field1=value1&field2=value2" }));
    assert.equal(form.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(form.bodyText, "field1=value1&field2=value2");
    const text = await json(await actor.fetch("test/text", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "Hello, World!" }));
    assert.equal(text.headers["content-type"], "text/plain");
    assert.equal(text.bodyText, "Hello, World!");
  });

  test("header values are kept, names lower-cased", T, async (t) => {
    const actor = await setup(t);
    const data = await json(
      await actor.fetch("test/headers", {
        headers: { Accept: "application/json", "Accept-Language": "en-US,en;q=0.9", "Cache-Control": "no-cache", "User-Agent": "RivetKit-Test/1.0", "X-Request-ID": "12345" },
      }),
    );
    assert.equal(data.headers.accept, "application/json");
    assert.equal(data.headers["accept-language"], "en-US,en;q=0.9");
    assert.equal(data.headers["cache-control"], "no-cache");
    assert.ok(data.headers["user-agent"]);
    assert.equal(data.headers["x-request-id"], "12345");
  });

  test("the root path, encoded characters, and a fragment (not sent)", T, async (t) => {
    const actor = await setup(t);
    assert.equal((await json(await actor.fetch(""))).pathname, "/");
    assert.match((await json(await actor.fetch("test/path%20with%20spaces/and%2Fslashes"))).pathname, /path.*with.*spaces.*and.*slashes/);
    const fragment = await json(await actor.fetch("test/path#fragment"));
    assert.equal(fragment.pathname, "/test/path");
    assert.equal(fragment.hash, "");
  });

  test("every method reaches onRequest; HEAD and OPTIONS answers have no body", T, async (t) => {
    const actor = await setup(t);
    for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) {
      const res: Response = await actor.fetch(`test/${method.toLowerCase()}`, { method, body: ["POST", "PUT", "PATCH"].includes(method) ? JSON.stringify({ method }) : undefined });
      if (method === "HEAD") {
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "");
      } else if (method === "OPTIONS") {
        assert.equal(res.status, 204);
        assert.equal(await res.text(), "");
      } else assert.equal((await json(res)).method, method);
    }
  });

  test("repeated and bracketed query parameters", T, async (t) => {
    const actor = await setup(t);
    const data = await json(await actor.fetch("test?key=value1&key=value2&array[]=1&array[]=2&nested[prop]=val"));
    assert.equal(data.searchParams.key, "value2");
    assert.equal(data.searchParams["array[]"], "2");
    assert.equal(data.searchParams["nested[prop]"], "val");
  });

  test("a multipart body arrives as sent", T, async (t) => {
    const actor = await setup(t);
    const boundary = "----RivetKitBoundary";
    const body = [`------${boundary}`, 'Content-Disposition: form-data; name="field1"', "", "value1", `------${boundary}`, 'Content-Disposition: form-data; name="field2"', "", "value2", `------${boundary}--`].join("\r\n");
    const data = await json(await actor.fetch("test/multipart", { method: "POST", headers: { "Content-Type": `multipart/form-data; boundary=----${boundary}` }, body }));
    assert.ok(data.headers["content-type"].includes("multipart/form-data"));
    assert.ok(data.bodyText.includes("field1") && data.bodyText.includes("value1"));
  });

  test("a long query string", T, async (t) => {
    const actor = await setup(t);
    const long = "x".repeat(1000);
    const data = await json(await actor.fetch(`test/long?param=${long}`));
    assert.equal(data.searchParams.param, long);
    assert.ok(data.search.length > 1000);
  });

  test("a large JSON body (~750 KB)", T, async (t) => {
    const actor = await setup(t);
    const big = new Array(10_000).fill({ id: 1, name: "Test", description: "This is a test object with some data" });
    const data = await json(await actor.fetch("test/large", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(big) }));
    assert.equal(data.body.length, 10_000);
  });

  test("a body without Content-Type", T, async (t) => {
    const actor = await setup(t);
    const data = await json(await actor.fetch("test/no-content-type", { method: "POST", body: "plain text without content-type" }));
    assert.equal(data.bodyText, "plain text without content-type");
  });

  test("an empty JSON body is accepted", T, async (t) => {
    const actor = await setup(t);
    const res: Response = await actor.fetch("test/empty", { method: "POST", headers: { "Content-Type": "application/json" }, body: "" });
    assert.equal(res.ok, true);
    await res.body?.cancel();
  });

  // As in RivetKit, a refusal is allowed (Node's HTTP parser answers 400 to a method it does not
  // know), but a request that is served must carry the method as sent.
  test("a custom method, if served, arrives as sent", T, async (t) => {
    const actor = await setup(t);
    const res: Response = await actor.fetch("test/custom", { method: "CUSTOM" });
    if (res.ok) assert.equal(((await res.json()) as { method: string }).method, "CUSTOM");
    else {
      assert.ok(res.status >= 400, `status ${res.status}`);
      await res.body?.cancel();
    }
  });

  test("cookies arrive in their header", T, async (t) => {
    const actor = await setup(t);
    const data = await json(await actor.fetch("test/cookies", { headers: { Cookie: "session=abc123; user=test; preferences=dark_mode" } }));
    assert.equal(data.headers.cookie, "session=abc123; user=test; preferences=dark_mode");
  });

  test("query parameters are URL-decoded", T, async (t) => {
    const actor = await setup(t);
    const data = await json(await actor.fetch("test/encoded?special=%20%21%40%23%24%25%5E%26&unicode=%E2%9C%93&email=test%40example.com"));
    assert.equal(data.searchParams.special, " !@#$%^&");
    assert.equal(data.searchParams.unicode, "✓");
    assert.equal(data.searchParams.email, "test@example.com");
  });

  test("concurrent requests keep their own method, query and body", T, async (t) => {
    const actor = await setup(t);
    const results = await Promise.all(
      [
        actor.fetch("test/concurrent?id=1", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ request: 1 }) }),
        actor.fetch("test/concurrent?id=2", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ request: 2 }) }),
        actor.fetch("test/concurrent?id=3", { method: "DELETE" }),
      ].map(async (p) => json(await p)),
    );
    assert.deepEqual(results.map((r) => [r.searchParams.id, r.method, r.body]), [
      ["1", "POST", { request: 1 }],
      ["2", "PUT", { request: 2 }],
      ["3", "DELETE", null],
    ]);
  });
});
