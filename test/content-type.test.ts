import assert from "node:assert/strict";
import nodeHttp from "node:http";
import { after, before, describe, test } from "node:test";
import { Encoder } from "cbor-x";
import { counter } from "../examples/counter.js";
import { startServer } from "./helpers/harness.js";

// A page on another origin can POST text/plain, form-urlencoded and multipart bodies (or a body
// with no type) without a CORS preflight; such requests must never reach an action.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

/** node:http, not fetch, so the request carries exactly the headers given and nothing added. */
function send(url: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(url, { method: "POST", headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
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

describe("request Content-Type", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  before(async () => {
    h = await startServer({ use: { counter } });
  });
  after(() => h.close());

  const refused: Array<[string, Record<string, string>, string | undefined]> = [
    ["text/plain body", { "content-type": "text/plain" }, json],
    ["text/plain; charset=utf-8 body", { "content-type": "text/plain; charset=utf-8" }, json],
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
      const res = await send(`${h.url}/actors/${id}/action/increment`, headers, body);
      assert.equal(res.status, 415);
      assert.equal(res.json?.code, "unsupported_media_type");
      assert.equal(res.json?.group, "request");
      assert.equal(await h.client.counter.getOrCreate([`refused-${what}`]).get(), 0, "state unchanged");
    });
  }

  test("a refused type on the other body routes", async () => {
    const resolve = await send(`${h.url}/actors`, { "content-type": "text/plain" }, JSON.stringify({ name: "counter", key: ["via-text"] }));
    assert.equal(resolve.status, 415);
    assert.equal(resolve.json?.code, "unsupported_media_type");
    const id = await h.client.counter.getOrCreate(["queue-target"]).resolve();
    const queued = await send(`${h.url}/actors/${id}/queue/jobs`, {}, JSON.stringify({ body: 1 }));
    assert.equal(queued.status, 415);
    assert.equal(queued.json?.code, "unsupported_media_type");
  });

  const accepted: Array<[string, Record<string, string>, string | Uint8Array | undefined, number]> = [
    ["application/json", { "content-type": "application/json" }, JSON.stringify({ args: [2] }), 2],
    ["application/json; charset=utf-8", { "content-type": "application/json; charset=utf-8" }, JSON.stringify({ args: [3] }), 3],
    ["Application/JSON (case-insensitive)", { "content-type": "Application/JSON" }, JSON.stringify({ args: [4] }), 4],
    ["application/cbor", { "content-type": "application/cbor" }, cbor.encode({ args: [5] }) as Uint8Array, 5],
    ["no body and no content type", {}, undefined, 1],
    ["an empty body and no content type", {}, "", 1],
  ];
  for (const [what, headers, body, by] of accepted) {
    test(`${what}: 200 and the action runs`, async () => {
      const id = await h.client.counter.getOrCreate([`accepted-${what}`]).resolve();
      const res = await send(`${h.url}/actors/${id}/action/increment`, headers, body);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json?.output, by);
      assert.equal(await h.client.counter.getOrCreate([`accepted-${what}`]).get(), by);
    });
  }

  test("the client sends application/json and still works", async () => {
    const handle = h.client.counter.getOrCreate(["client"]);
    assert.equal(await handle.increment(7), 7);
    assert.equal(await handle.get(), 7);
  });
});
