import assert from "node:assert/strict";
import nodeHttp from "node:http";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { actor, setup } from "../src/index.js";
import { startServer } from "./helpers/harness.js";
import { findActor, gatewayUrl } from "./helpers/wire.js";

// What a browser can make a visitor's machine send, over real HTTP and WebSocket: simple
// requests, requests with no content type, foreign and same origins, Sec-Fetch-Site, preflights
// with and without a CORS policy, credentials, and upgrades. Only allowed origins reach an actor.

const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => (c.state.count += by),
    get: (c) => c.state.count,
  },
  queues: { jobs: {} },
  onRequest: (c, req) => {
    if (new URL(req.url).pathname === "/go") return Response.redirect("https://example.com/", 302);
    c.state.count += 100;
    return new Response("raw", { headers: { "content-type": "text/plain" } });
  },
  onWebSocket: (_c, socket) => socket.send("hi"),
});

interface Answer {
  status: number;
  headers: nodeHttp.IncomingHttpHeaders;
  json: any;
}

/** node:http, not fetch: the request carries exactly these headers and nothing added. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
    const req = nodeHttp.request(url, { method, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** An action call's body, as the client sends it. */
const ARGS = JSON.stringify({ args: [1] });
const JSON_TYPE = { "content-type": "application/json" };

/** Opens a WebSocket with these headers; resolves with "open" or the HTTP refusal. */
function upgrade(url: string, headers: Record<string, string>): Promise<"open" | { status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["rivet"], { headers });
    ws.once("open", () => {
      ws.close();
      resolve("open");
    });
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    ws.once("error", reject);
  });
}

const EVIL = "https://evil.example";
const APP = "https://app.example";

describe("without a CORS policy: only non-browser clients and same-origin pages", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  let self: string;
  before(async () => {
    h = await startServer({ use: { counter } });
    self = h.url; // http://127.0.0.1:<port>, what a same-origin page sends as Origin
  });
  after(() => h.close());

  const count = (key: string) => h.client.counter.getOrCreate([key]).get();
  const action = async (key: string) => gatewayUrl(h.url, await h.client.counter.getOrCreate([key]).resolve(), "/action/increment");

  // [what, headers (SELF is replaced by the server's own origin), status, code]
  // A JSON content type carries the body `{args: [1]}`, another type "args=1", none no body.
  const matrix: Array<[string, Record<string, string>, number, string | null]> = [
    ["no Origin, JSON (a non-browser client)", { "content-type": "application/json" }, 200, null],
    // The protocol's body is required: a request without one is served, and refused for its body.
    // An action must declare its body's type: none is refused for everyone, before the body is read.
    ["no Origin, no content type, empty body (a non-browser client)", {}, 415, "unsupported_media_type"],
    ["same-origin page, no content type, empty body", { origin: "SELF" }, 415, "unsupported_media_type"],
    ["same-origin page, JSON", { origin: "SELF", "content-type": "application/json" }, 200, null],
    ["no Origin, Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin", "content-type": "application/json" }, 200, null],
    ["no Origin, Sec-Fetch-Site: none (typed in the address bar)", { "sec-fetch-site": "none", "content-type": "application/json" }, 200, null],
    ["cross-site no-cors POST, no content type", { origin: EVIL }, 403, "origin_not_allowed"],
    ["cross-site POST, JSON", { origin: EVIL, "content-type": "application/json" }, 403, "origin_not_allowed"],
    ["cross-site text/plain", { origin: EVIL, "content-type": "text/plain" }, 403, "origin_not_allowed"],
    ["cross-site form", { origin: EVIL, "content-type": "application/x-www-form-urlencoded" }, 403, "origin_not_allowed"],
    ["cross-site multipart", { origin: EVIL, "content-type": "multipart/form-data; boundary=x" }, 403, "origin_not_allowed"],
    ["Origin: null (sandboxed frame, file://)", { origin: "null" }, 403, "origin_not_allowed"],
    ["same host, another port", { origin: "http://127.0.0.1:1" }, 403, "origin_not_allowed"],
    // Host carries no scheme, and behind a TLS proxy the page's is https: host and port decide.
    ["same host and port over https", { origin: "SELF_HTTPS", "content-type": "application/json" }, 200, null],
    ["localhost is another origin than 127.0.0.1", { origin: "SELF_LOCALHOST" }, 403, "origin_not_allowed"],
    ["no Origin but Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }, 403, "origin_not_allowed"],
    ["same-origin text/plain still gets 415", { origin: "SELF", "content-type": "text/plain" }, 415, "unsupported_media_type"],
    ["no Origin, text/plain gets 415", { "content-type": "text/plain" }, 415, "unsupported_media_type"],
  ];
  for (const [what, raw, status, code] of matrix) {
    test(`POST action: ${what} -> ${status}`, async () => {
      const headers = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [
          k,
          v === "SELF" ? self : v === "SELF_HTTPS" ? self.replace("http:", "https:") : v === "SELF_LOCALHOST" ? self.replace("127.0.0.1", "localhost") : v,
        ]),
      );
      const key = `m-${what}`;
      const body = headers["content-type"] === "application/json" ? ARGS : headers["content-type"] ? "args=1" : undefined;
      const res = await send(await action(key), "POST", headers, body);
      assert.equal(res.status, status, JSON.stringify(res.json));
      if (code) assert.equal(res.json?.code, code);
      assert.equal(res.headers["access-control-allow-origin"], undefined, "no CORS header without a policy");
      assert.equal(await count(key), status === 200 ? 1 : 0, status === 200 ? "the action ran" : "the action did not run");
    });
  }

  test("every actor route refuses a foreign origin: create, read, queue, raw request", async () => {
    const id = await h.client.counter.getOrCreate(["routes"]).resolve();
    const json = { origin: EVIL, "content-type": "application/json" };
    const gw = (rest: string) => gatewayUrl("", id, rest);
    const cases: Array<[string, string, Record<string, string>, string | undefined]> = [
      ["PUT", "/actors", json, JSON.stringify({ name: "counter", key: "made-by-evil" })],
      ["POST", "/actors", json, JSON.stringify({ name: "counter", key: "made-by-evil-2" })],
      ["GET", `/actors?actor_ids=${id}`, { origin: EVIL }, undefined],
      ["GET", "/actors?name=counter&key=routes", { origin: EVIL }, undefined],
      ["GET", "/actors?name=counter", { origin: EVIL }, undefined],
      ["DELETE", `/actors/${id}`, { origin: EVIL }, undefined],
      ["POST", gw("/queue/jobs"), json, JSON.stringify({ body: 1, name: "jobs", wait: false })],
      ["POST", gw("/request/anything"), { origin: EVIL }, ""],
      ["GET", gw("/request/anything"), { origin: EVIL }, undefined],
      // By key instead of id: a getOrCreate through the gateway would create the actor.
      ["POST", "/gateway/counter/action/increment?rvt-method=getOrCreate&rvt-key=made-by-evil-3", json, ARGS],
    ];
    for (const [method, path, headers, body] of cases) {
      const res = await send(`${h.url}${path}`, method, headers, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.json?.code, "origin_not_allowed", `${method} ${path}`);
    }
    for (const key of ["made-by-evil", "made-by-evil-2", "made-by-evil-3"]) {
      const listed = await findActor(h.url, "counter", [key]);
      assert.deepEqual([listed.status, listed.body.actors], [200, []], `no actor ${key} was created`);
    }
    assert.equal((await findActor(h.url, "counter", ["routes"])).body.actors[0]?.actor_id, id, "the actor was not destroyed");
    assert.equal(await count("routes"), 0, "onRequest never ran");
    const same = await send(`${h.url}${gw("/request/anything")}`, "POST", { origin: self }, "");
    assert.equal(same.status, 200, "a same-origin page reaches onRequest");
  });

  test("operational routes answer anyone but carry no CORS header", async () => {
    for (const path of ["/health", "/metadata"]) {
      const res = await send(`${h.url}${path}`, "GET", { origin: EVIL });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers["access-control-allow-origin"], undefined, path);
    }
  });

  test("a preflight from a foreign origin gets 403; from the same origin, 204", async () => {
    const id = await h.client.counter.getOrCreate(["pre"]).resolve();
    const url = gatewayUrl(h.url, id, "/action/increment");
    const foreign = await send(url, "OPTIONS", { origin: EVIL, "access-control-request-method": "POST", "access-control-request-headers": "content-type" });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json?.code, "origin_not_allowed");
    assert.equal(foreign.headers["access-control-allow-origin"], undefined);
    const same = await send(url, "OPTIONS", { origin: self, "access-control-request-method": "POST" });
    assert.equal(same.status, 204);
    assert.equal(same.headers["access-control-allow-credentials"], undefined);
  });

  test("WebSocket upgrades: no Origin and same-origin open; foreign origins get 403 before the upgrade", async () => {
    const id = await h.client.counter.getOrCreate(["ws"]).resolve();
    const ws = gatewayUrl(h.url, id, "").replace("http", "ws");
    assert.equal(await upgrade(`${ws}/connect`, {}), "open");
    assert.equal(await upgrade(`${ws}/connect`, { origin: self }), "open");
    assert.equal(await upgrade(`${ws}/websocket/x`, { origin: self }), "open");
    for (const [what, headers] of [
      ["foreign", { origin: EVIL }],
      ["null", { origin: "null" }],
      ["another port", { origin: "http://127.0.0.1:1" }],
      ["no Origin, cross-site", { "sec-fetch-site": "cross-site" }],
    ] as const) {
      for (const path of ["/connect", "/websocket/x"]) {
        const r = await upgrade(`${ws}${path}`, headers);
        assert.notEqual(r, "open", `${what} ${path}`);
        assert.deepEqual([(r as { status: number }).status, (r as { json: { code: string } }).json.code], [403, "origin_not_allowed"], `${what} ${path}`);
      }
    }
  });
});

describe("with a CORS policy listing an origin, with credentials", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  before(async () => {
    h = await startServer({ use: { counter }, cors: { origins: [APP], credentials: true, maxAgeSeconds: 120 } });
  });
  after(() => h.close());

  test("the preflight from the listed origin is answered with every Access-Control header", async () => {
    const id = await h.client.counter.getOrCreate(["p"]).resolve();
    const res = await send(gatewayUrl(h.url, id, "/action/increment"), "OPTIONS", {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, x-rivet-conn-params",
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers["access-control-allow-origin"], APP);
    assert.equal(res.headers["access-control-allow-credentials"], "true");
    assert.equal(res.headers["access-control-max-age"], "120");
    assert.match(res.headers["access-control-allow-methods"]!, /\bPOST\b/);
    const allowed = res.headers["access-control-allow-headers"]!.split(", ");
    for (const hname of ["content-type", "authorization", "x-rivet-conn-params", "x-rivet-encoding", "x-rivet-token"]) {
      assert.ok(allowed.includes(hname), hname);
    }
    assert.match(res.headers.vary!, /\bOrigin\b/);
    assert.equal(res.headers["access-control-allow-private-network"], undefined, "only when asked");
    const pna = await send(gatewayUrl(h.url, id, "/action/increment"), "OPTIONS", { origin: APP, "access-control-request-method": "POST", "access-control-request-private-network": "true" });
    assert.equal(pna.headers["access-control-allow-private-network"], "true");
  });

  test("the listed origin calls actions and reads the answer, errors included", async () => {
    const id = await h.client.counter.getOrCreate(["a"]).resolve();
    const ok = await send(gatewayUrl(h.url, id, "/action/increment"), "POST", { origin: APP, "content-type": "application/json" }, JSON.stringify({ args: [2] }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.output, 2);
    assert.equal(ok.headers["access-control-allow-origin"], APP);
    assert.equal(ok.headers["access-control-allow-credentials"], "true");
    assert.match(ok.headers.vary!, /\bOrigin\b/);
    const missing = await send(gatewayUrl(h.url, id, "/action/nope"), "POST", { origin: APP, ...JSON_TYPE }, ARGS);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["access-control-allow-origin"], APP, "an error is readable too");
    // A raw handler's redirect has immutable headers: it is copied, not broken.
    const redirect = await send(gatewayUrl(h.url, id, "/request/go"), "GET", { origin: APP });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, "https://example.com/");
    assert.equal(redirect.headers["access-control-allow-origin"], APP);
  });

  test("other origins are still refused, and same-origin answers carry Vary but no Allow-Origin", async () => {
    const id = await h.client.counter.getOrCreate(["b"]).resolve();
    const url = gatewayUrl(h.url, id, "/action/increment");
    const evil = await send(url, "POST", { origin: EVIL, ...JSON_TYPE }, ARGS);
    assert.equal(evil.status, 403);
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
    const pre = await send(url, "OPTIONS", { origin: EVIL, "access-control-request-method": "POST" });
    assert.equal(pre.status, 403);
    const same = await send(url, "POST", { origin: h.url, ...JSON_TYPE }, ARGS);
    assert.equal(same.status, 200);
    assert.equal(same.headers["access-control-allow-origin"], undefined);
    assert.match(same.headers.vary!, /\bOrigin\b/);
    const none = await send(`${h.url}/health`, "GET", {});
    assert.match(none.headers.vary!, /\bOrigin\b/, "a cache must not reuse a no-Origin answer for an origin");
    assert.equal(await h.client.counter.getOrCreate(["b"]).get(), 1);
  });

  test("the listed origin may open WebSockets; others may not", async () => {
    const id = await h.client.counter.getOrCreate(["w"]).resolve();
    const ws = gatewayUrl(h.url, id, "").replace("http", "ws");
    assert.equal(await upgrade(`${ws}/connect`, { origin: APP }), "open");
    assert.equal(await upgrade(`${ws}/websocket/`, { origin: APP }), "open");
    const evil = await upgrade(`${ws}/connect`, { origin: EVIL });
    assert.equal((evil as { status: number }).status, 403);
  });
});

describe('with origins "*"', () => {
  test("any origin may call and connect; no credentials, no Vary needed", async () => {
    const h = await startServer({ use: { counter }, cors: { origins: "*" } });
    try {
      const id = await h.client.counter.getOrCreate(["any"]).resolve();
      const pre = await send(gatewayUrl(h.url, id, "/action/increment"), "OPTIONS", { origin: EVIL, "access-control-request-method": "POST" });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers["access-control-allow-origin"], "*");
      assert.equal(pre.headers["access-control-allow-credentials"], undefined);
      const res = await send(gatewayUrl(h.url, id, "/action/increment"), "POST", { origin: EVIL, ...JSON_TYPE }, ARGS);
      assert.equal(res.status, 200);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
      assert.equal(await upgrade(gatewayUrl(h.url, id, "/connect").replace("http", "ws"), { origin: EVIL }), "open");
    } finally {
      await h.close();
    }
  });
});

describe("setup() refuses a policy browsers would reject or that says something else", () => {
  const use = { counter };
  const cases: Array<[string, object, RegExp]> = [
    ['credentials with "*"', { cors: { origins: "*", credentials: true } }, /credentials cannot be used with cors.origins "\*"/],
    ["an origin with a path", { cors: { origins: ["https://app.example/app"] } }, /is not an origin/],
    ["the null origin", { cors: { origins: ["null"] } }, /is not an origin/],
    ["an origin without a scheme", { cors: { origins: ["app.example"] } }, /is not an origin/],
    ["origins that are not a list", { cors: { origins: "https://app.example" } }, /must be an array/],
    ["a header name with a space", { cors: { origins: [APP], allowHeaders: ["x bad"] } }, /is not a header name/],
  ];
  for (const [what, config, message] of cases) {
    test(what, () => {
      assert.throws(() => setup({ use, storage: { driver: "memory" }, ...(config as object) }), message);
    });
  }
});
