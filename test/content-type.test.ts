import assert from "node:assert/strict";
import nodeHttp from "node:http";
import { after, before, describe, test } from "node:test";
import { counter } from "../examples/counter.js";
import { httpActionRequest, httpActionResponse, httpResponseError, type Encoding } from "../src/protocol/rivet/codec.js";
import { startServer } from "./helpers/harness.js";
import { findActor, gatewayUrl } from "./helpers/wire.js";

// A page on another origin can POST text/plain, form-urlencoded and multipart bodies (or a body
// with no type) without a CORS preflight; such requests must never reach an action. The protocol's
// own types are application/json (x-rivet-encoding json, or none) and application/octet-stream
// (x-rivet-encoding cbor or bare); the management API (`/actors`) takes JSON only.

interface Answer {
  status: number;
  /** The answer decoded: an HttpActionResponse, or an error `{group, code, message}`. */
  json: any;
}

/** node:http, not fetch, so the request carries exactly the headers given and nothing added. */
function send(url: string, headers: Record<string, string>, body?: string | Uint8Array, method = "POST"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(url, { method, headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const bytes = new Uint8Array(Buffer.concat(chunks));
        // Answers come in the request's encoding (JSON when it named none or a bad one).
        const encoding: Encoding = (res.headers["content-type"] ?? "").startsWith("application/octet-stream") ? (headers["x-rivet-encoding"] as Encoding) : "json";
        let json: unknown;
        try {
          json = (res.statusCode === 200 ? httpActionResponse : httpResponseError).decode(encoding, encoding === "json" ? new TextDecoder().decode(bytes) : bytes);
        } catch {
          try {
            json = JSON.parse(new TextDecoder().decode(bytes));
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const json = JSON.stringify({ args: [1] });
const multipart = `--xyz\r\ncontent-disposition: form-data; name="args"\r\n\r\n[1]\r\n--xyz--\r\n`;
const bytesOf = (b: string | Uint8Array) => (typeof b === "string" ? new TextEncoder().encode(b) : b);

describe("request Content-Type", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  before(async () => {
    h = await startServer({ use: { counter } });
  });
  after(() => h.close());

  const refused: Array<[string, Record<string, string>, string | undefined]> = [
    ["text/plain body", { "content-type": "text/plain" }, json],
    ["text/plain; charset=utf-8 body", { "content-type": "text/plain; charset=utf-8" }, json],
    ["Text/Plain (case-insensitive)", { "content-type": "Text/Plain" }, json],
    ["form-urlencoded body", { "content-type": "application/x-www-form-urlencoded" }, "args=1"],
    ["multipart body", { "content-type": "multipart/form-data; boundary=xyz" }, multipart],
    ["no content type, with a body", {}, json],
    ["an empty content type, with a body", { "content-type": "" }, json],
    // An HTML form with no fields posts form-urlencoded with an empty body.
    ["form-urlencoded, empty body", { "content-type": "application/x-www-form-urlencoded" }, ""],
    ["text/plain, no body", { "content-type": "text/plain" }, undefined],
  ];
  for (const [what, headers, body] of refused) {
    test(`${what}: 415 unsupported_media_type, and the action does not run`, async () => {
      const id = await h.client.counter.getOrCreate([`refused-${what}`]).resolve();
      const res = await send(gatewayUrl(h.url, id, "/action/increment"), headers, body);
      assert.equal(res.status, 415, JSON.stringify(res.json));
      assert.equal(res.json?.code, "unsupported_media_type");
      assert.equal(res.json?.group, "request");
      assert.equal(await h.client.counter.getOrCreate([`refused-${what}`]).get(), 0, "state unchanged");
    });
  }

  test("a refused type on the other body routes", async () => {
    const resolve = await send(`${h.url}/actors`, { "content-type": "text/plain" }, JSON.stringify({ name: "counter", key: "via-text" }), "PUT");
    assert.equal(resolve.status, 415);
    assert.equal(resolve.json?.code, "unsupported_media_type");
    assert.deepEqual((await findActor(h.url, "counter", ["via-text"])).body.actors, [], "no actor was created");
    const id = await h.client.counter.getOrCreate(["queue-target"]).resolve();
    const queueBody = JSON.stringify({ body: 1, name: "jobs", wait: false });
    for (const [what, headers] of [
      ["no content type", {}],
      ["text/plain", { "content-type": "text/plain" }],
    ] as const) {
      const queued = await send(gatewayUrl(h.url, id, "/queue/jobs"), headers, queueBody);
      assert.equal(queued.status, 415, `queue send, ${what}: ${JSON.stringify(queued.json)}`);
      assert.equal(queued.json?.code, "unsupported_media_type", `queue send, ${what}`);
    }
  });

  test("the management API takes JSON only", async () => {
    const body = (key: string) => JSON.stringify({ name: "counter", key });
    const cases: Array<[string, string, Record<string, string>]> = [
      ["PUT", "mgmt-none", {}],
      ["POST", "mgmt-none-2", {}],
      ["PUT", "mgmt-form", { "content-type": "application/x-www-form-urlencoded" }],
      ["PUT", "mgmt-octet", { "content-type": "application/octet-stream", "x-rivet-encoding": "cbor" }],
      ["POST", "mgmt-text", { "content-type": "text/plain" }],
    ];
    for (const [method, key, headers] of cases) {
      const res = await send(`${h.url}/actors`, headers, body(key), method);
      assert.equal(res.status, 415, `${method} ${JSON.stringify(headers)}`);
      assert.deepEqual([res.json?.group, res.json?.code], ["request", "unsupported_media_type"], `${method} ${JSON.stringify(headers)}`);
      assert.deepEqual((await findActor(h.url, "counter", [key])).body.actors, [], `${method} ${JSON.stringify(headers)}: no actor was created`);
    }
    for (const [i, type] of ["application/json", "application/json; charset=utf-8", "Application/JSON"].entries()) {
      const res = await send(`${h.url}/actors`, { "content-type": type }, body(`mgmt-json-${i}`), "PUT");
      assert.equal(res.status, 200, `${type}: ${JSON.stringify(res.json)}`);
      assert.equal((await findActor(h.url, "counter", [`mgmt-json-${i}`])).body.actors.length, 1, type);
    }
  });

  const accepted: Array<[string, Record<string, string>, string | Uint8Array, number]> = [
    ["application/json", { "content-type": "application/json" }, JSON.stringify({ args: [2] }), 2],
    ["application/json; charset=utf-8", { "content-type": "application/json; charset=utf-8" }, JSON.stringify({ args: [3] }), 3],
    ["Application/JSON (case-insensitive)", { "content-type": "Application/JSON" }, JSON.stringify({ args: [4] }), 4],
    ["application/json with x-rivet-encoding: json", { "content-type": "application/json", "x-rivet-encoding": "json" }, JSON.stringify({ args: [5] }), 5],
    ["application/octet-stream with x-rivet-encoding: cbor", { "content-type": "application/octet-stream", "x-rivet-encoding": "cbor" }, httpActionRequest.encode("cbor", { args: [6] }), 6],
    ["application/octet-stream with x-rivet-encoding: bare", { "content-type": "application/octet-stream", "x-rivet-encoding": "bare" }, httpActionRequest.encode("bare", { args: [7] }), 7],
    ["application/json, no arguments", { "content-type": "application/json" }, JSON.stringify({ args: [] }), 1],
  ];
  for (const [what, headers, body, by] of accepted) {
    test(`${what}: 200 and the action runs`, async () => {
      const id = await h.client.counter.getOrCreate([`accepted-${what}`]).resolve();
      const res = await send(gatewayUrl(h.url, id, "/action/increment"), headers, bytesOf(body));
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json?.output, by);
      assert.equal(await h.client.counter.getOrCreate([`accepted-${what}`]).get(), by);
    });
  }

  // The protocol's body (`{args}`) is required: without one a request is not a call, whatever its type.
  const bodiless: Array<[string, Record<string, string>, string | undefined, number, string]> = [
    ["no body and no content type", {}, undefined, 415, "unsupported_media_type"],
    ["an empty body and no content type", {}, "", 415, "unsupported_media_type"],
    ["application/json, empty body", { "content-type": "application/json" }, "", 400, "invalid"],
  ];
  for (const [what, headers, body, status, code] of bodiless) {
    test(`${what}: ${status} request/${code}, and the action does not run`, async () => {
      const id = await h.client.counter.getOrCreate([`bodiless-${what}`]).resolve();
      const res = await send(gatewayUrl(h.url, id, "/action/increment"), headers, body);
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.deepEqual([res.json?.group, res.json?.code], ["request", code]);
      assert.equal(await h.client.counter.getOrCreate([`bodiless-${what}`]).get(), 0, "state unchanged");
    });
  }

  test("the client sends application/json and still works", async () => {
    const handle = h.client.counter.getOrCreate(["client"]);
    assert.equal(await handle.increment(7), 7);
    assert.equal(await handle.get(), 7);
  });
});
