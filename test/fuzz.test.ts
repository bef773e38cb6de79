import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { encode as cborEncode } from "cbor-x";
import WebSocket from "ws";
import { chatRoom } from "../examples/chat-room.js";
import { counter } from "../examples/counter.js";
import { jobBoard } from "../examples/job-board.js";
import { actor } from "../src/index.js";
import { bytesToBase64, jsonStringifyCompat } from "../src/client/protocol/json-compat.js";
import { httpActionRequest, httpActionResponse, httpQueueSendRequest, httpResponseError, toClient, toServer, type Encoding } from "../src/protocol/rivet/codec.js";
import type { ToClient } from "../src/protocol/rivet/messages.js";
import { startServer } from "./helpers/harness.js";
import { callAction, gatewayUrl } from "./helpers/wire.js";

// Hostile input on a fixed seed (`TROUPE_FUZZ_SEED`, `TROUPE_FUZZ_COUNT` for longer runs): the server
// must answer every bad HTTP request with a 4xx and a stable {group, code} in the request's encoding,
// close bad WebSockets with a close code and a `group.code#…` reason, never crash or leave an
// unhandled rejection, keep serving a well-behaved client, and change the fuzzed actor's state only
// by calls it acknowledged, to exactly what it acknowledged.
const seedEnv = process.env.TROUPE_FUZZ_SEED;
let seed = seedEnv === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(seedEnv ?? 424242);
const SEED = seed;
console.log(`fuzz seed ${seed}`);
const COUNT = Number(process.env.TROUPE_FUZZ_COUNT ?? 400);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const randomBytes = (n: number) => new Uint8Array(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

function deep(n: number, open: string, close: string): string {
  return open.repeat(n) + close.repeat(n);
}

/** A copy of `bytes` with one byte (past the first `from`) replaced by a random one. */
function flipped(bytes: Uint8Array, from = 0): Uint8Array {
  const out = new Uint8Array(bytes);
  out[from + Math.floor(rnd() * (out.length - from))] = Math.floor(rnd() * 256);
  return out;
}

const OCTETS = "application/octet-stream";
const JSON_TYPE = "application/json";

/** A body and the encoding it is written in (sent as `x-rivet-encoding` most of the time). */
type Body = { body: string | Uint8Array; type?: string; encoding?: Encoding };
const bareAction = () => httpActionRequest.encode("bare", { args: [1] });

const bodies: Array<() => Body> = [
  // json
  () => ({ body: "{not json", type: JSON_TYPE, encoding: "json" }),
  () => ({ body: deep(50_000, "[", "]"), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: JSON.parse(deep(2000, "[", "]")) }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: "nope" }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: [1] }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: [Number.MAX_VALUE, -0, 1e308] }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: [["$BigInt", "zz"]] }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: [["$Nope", 1]] }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ args: [["$Uint8Array", "!!!"]] }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ body: { a: 1 }, wait: "yes" }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ body: 1, name: "jobs", wait: true, timeout: -1 }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ body: { text: "a b" }, name: "jobs", wait: true, timeout: 1e12 }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: JSON.stringify({ body: { text: "a b" }, name: "jobs", wait: false }), type: JSON_TYPE, encoding: "json" }),
  () => ({ body: "x".repeat(2 * 1024 * 1024), type: JSON_TYPE, encoding: "json" }),
  // the management API's bodies (JSON only)
  () => ({ body: JSON.stringify({ name: "counter", key: "k".repeat(5000) }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "../../etc/passwd", key: "x" }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: "\ud800" }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: {} }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: ["a", "b"] }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: "a", input: "!!not base64" }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: "a", input: bytesToBase64(randomBytes(32)) }), type: JSON_TYPE }),
  () => ({ body: JSON.stringify({ name: "counter", key: "a", crash_policy: "explode" }), type: JSON_TYPE }),
  () => ({ body: "<xml/>", type: "application/xml" }),
  () => ({ body: JSON.stringify({ args: [1] }), type: "text/plain; charset=utf-16" }),
  () => ({ body: "args=1", type: "application/x-www-form-urlencoded", encoding: "json" }),
  // cbor
  () => ({ body: randomBytes(64), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array(Array.from({ length: 5000 }, () => 0x81)), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array(cborEncode({ args: [1] })), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array(cborEncode({ args: [1] })).subarray(0, 4), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array(cborEncode({ args: { by: 1 } })), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), type: OCTETS, encoding: "cbor" }),
  () => ({ body: new Uint8Array(cborEncode({ body: { text: "x" }, name: "jobs", wait: "no" })), type: OCTETS, encoding: "cbor" }),
  () => ({ body: '{"args":[1]}', type: OCTETS, encoding: "cbor" }),
  // bare (a u16 version, then the BARE struct)
  () => ({ body: bareAction(), type: OCTETS, encoding: "bare" }),
  () => ({ body: flipped(bareAction(), 2), type: OCTETS, encoding: "bare" }),
  () => ({ body: bareAction().subarray(0, 3), type: OCTETS, encoding: "bare" }),
  () => ({ body: new Uint8Array([0xff, 0xff, ...bareAction().subarray(2)]), type: OCTETS, encoding: "bare" }),
  () => ({ body: randomBytes(64), type: OCTETS, encoding: "bare" }),
  () => ({ body: new Uint8Array(0), type: OCTETS, encoding: "bare" }),
  () => ({ body: httpQueueSendRequest.encode("bare", { body: { text: "x y" }, name: "jobs", wait: false }), type: OCTETS, encoding: "bare" }),
];

/** Paths; `{id}` is the fuzzed actor. Listed apart: those that call `increment` on the target counter. */
const paths = (id: string) => [
  `/gateway/${id}/action/increment`,
  `/gateway/${id}/action/get`,
  `/gateway/${id}/action/${encodeURIComponent("../../secret")}`,
  `/gateway/${id}/action/${"a".repeat(3000)}`,
  `/gateway/${id}/action/constructor`,
  `/gateway/${id}/action/__proto__`,
  `/gateway/${id}/action/%E0%A4%A`,
  `/gateway/${id}/action/a/b`,
  `/gateway/${id}/queue/jobs`,
  `/gateway/${id}/queue/${encodeURIComponent("x\u0000y")}`,
  `/gateway/${id}/request/x?q=1`,
  `/gateway/${id}/connect`,
  `/gateway/${id}/websocket/x`,
  `/gateway/${id}`,
  `/gateway/${id}@token/action/get`,
  `/gateway/%2e%2e%2f%2e%2e/action/get`,
  `/gateway/${"z".repeat(200)}/action/get`,
  "/gateway//action/get",
  "/gateway/counter/action/increment?rvt-method=get&rvt-key=target",
  "/gateway/counter/action/increment?rvt-method=getOrCreate&rvt-key=fuzz,%00",
  "/gateway/counter/action/get?rvt-method=bogus",
  "/gateway/counter/action/get?rvt-method=get&rvt-key=x&rvt-input=AA",
  "/gateway/counter/action/get?rvt-method=getOrCreate&rvt-key=x&rvt-input=!!",
  "/gateway/counter/action/get?rvt-method=get&rvt-key=x&rvt-namespace=other",
  "/gateway/nosuchtype/action/get?rvt-method=getOrCreate&rvt-key=x",
  "/actors",
  "/actors?namespace=other",
  "/actors?name=counter",
  "/actors?name=counter&key=%5Cud800",
  `/actors?name=counter&key=${"k/".repeat(2000)}`,
  `/actors?actor_ids=${Array.from({ length: 150 }, (_, i) => `id${i}`).join(",")}`,
  "/actors?actor_ids=,,,",
  "/actors/nope",
  `/actors/${"z".repeat(300)}`,
  "/metadata?namespace=default",
  "/metrics",
  "/inspector/actors",
  "/../../etc/passwd",
  "/health?x=" + "y".repeat(4000),
];

/** A `{group, code}` error in the answer's encoding, or a message saying why not. */
function errorOf(bytes: Uint8Array, contentType: string, encoding: Encoding): { group: string; code: string } | string {
  try {
    const e = httpResponseError.decode(contentType.startsWith("application/json") ? "json" : encoding, bytes);
    return e;
  } catch (err) {
    return `undecodable error answer (${contentType}): ${(err as Error).message}`;
  }
}

/** A raw connection socket in any encoding, whose server frames must all decode. */
function rivetSocket(url: string, id: string, encoding: Encoding, protocols?: string[]) {
  const ws = new WebSocket(gatewayUrl(url.replace(/^http/, "ws"), id, "/connect"), protocols ?? ["rivet", `rivet_encoding.${encoding}`]);
  const frames: ToClient[] = [];
  const bad: string[] = [];
  let wake = () => {};
  ws.on("message", (data: Buffer, isBinary) => {
    try {
      frames.push(toClient.decode(encoding, isBinary ? new Uint8Array(data) : data.toString()));
    } catch (err) {
      bad.push(`undecodable ${isBinary ? "binary" : "text"} frame from the server: ${(err as Error).message}`);
    }
    wake();
  });
  ws.on("error", () => {});
  let closedWith: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once("close", (code, reason) => {
      closedWith = { code, reason: reason.toString() };
      r(closedWith);
      wake();
    }),
  );
  const opened = new Promise<void>((r) => (ws.once("open", () => r()), ws.once("close", () => r())));
  /** Waits until `done()` holds or the socket closed; false on timeout. */
  const until = async (done: () => boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!done() && !closedWith) {
      if (Date.now() > end) return false;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 20);
      });
    }
    return true;
  };
  const send = (frame: string | Uint8Array) => ws.send(typeof frame === "string" ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  return { ws, frames, bad, closed, opened, until, send, get closedWith() { return closedWith; } };
}

const actionFrame = (encoding: Encoding, id: bigint, name: string, args: unknown[]) => toServer.encode(encoding, { tag: "ActionRequest", val: { id, name, args } });

/**
 * Client frames to fuzz a connection with: `invalid` must close 1007, `tooBig` 1009; `answered`
 * must get a reply to action 1 and keep the socket; `quiet` keeps it without a reply; `any` may do either.
 */
type Expect = "invalid" | "tooBig" | "answered" | "quiet" | "any";
const frames: Record<Encoding, Array<() => { data: string | Uint8Array; expect: Expect }>> = {
  json: [
    () => ({ data: "{", expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "Nope", val: {} } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: "x", name: 5 } } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: -1, name: "increment", args: [1] } } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: ["$BigInt", "18446744073709551616"], name: "increment", args: [1] } } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: 1, name: "increment", args: [["$Nope", 1]] } } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "SubscriptionRequest", val: { eventName: "e", subscribe: "yes" } } }), expect: "invalid" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: 1, name: "increment", args: JSON.parse(deep(500, "[", "]")) } } }), expect: "answered" }),
    () => ({ data: JSON.stringify({ body: { tag: "ActionRequest", val: { id: 1, name: "increment", args: [1] } } }), expect: "answered" }),
    () => ({ data: actionFrame("json", 1n, "increment", [1]) as string, expect: "answered" }),
    () => ({ data: new TextEncoder().encode(actionFrame("json", 1n, "increment", [2]) as string), expect: "answered" }),
    () => ({ data: actionFrame("json", 1n, "__proto__", []) as string, expect: "answered" }),
    () => ({ data: JSON.stringify({ body: { tag: "SubscriptionRequest", val: { eventName: "e".repeat(1000), subscribe: true } } }), expect: "quiet" }),
    () => ({ data: randomBytes(40), expect: "invalid" }),
    () => ({ data: "x".repeat(1024 * 1024 + 10), expect: "tooBig" }),
  ],
  cbor: [
    () => ({ data: randomBytes(40), expect: "any" }),
    () => ({ data: new Uint8Array(Array.from({ length: 5000 }, () => 0x81)), expect: "invalid" }),
    () => ({ data: actionFrame("cbor", 1n, "increment", [1]), expect: "answered" }),
    () => ({ data: (actionFrame("cbor", 1n, "increment", [1]) as Uint8Array).subarray(0, 10), expect: "invalid" }),
    () => ({ data: new Uint8Array(cborEncode({ body: { tag: "ActionRequest", val: { id: "1", name: "increment", args: [1] } } })), expect: "invalid" }),
    () => ({ data: new Uint8Array(cborEncode({ body: { tag: "ActionRequest", val: { id: 2n ** 64n, name: "increment", args: [1] } } })), expect: "invalid" }),
    () => ({ data: new Uint8Array(cborEncode({ body: { tag: "Init", val: { actorId: "x", connectionId: "y" } } })), expect: "invalid" }),
    () => ({ data: jsonStringifyCompat({ body: { tag: "ActionRequest", val: { id: 1n, name: "increment", args: [1] } } }), expect: "invalid" }),
    () => ({ data: toServer.encode("cbor", { tag: "SubscriptionRequest", val: { eventName: "changed", subscribe: true } }), expect: "quiet" }),
    () => ({ data: new Uint8Array(1024 * 1024 + 10), expect: "tooBig" }),
  ],
  bare: [
    () => ({ data: actionFrame("bare", 1n, "increment", [1]), expect: "answered" }),
    () => ({ data: flipped(actionFrame("bare", 1n, "increment", [1]) as Uint8Array, 2), expect: "any" }),
    () => ({ data: (actionFrame("bare", 1n, "increment", [1]) as Uint8Array).subarray(0, 5), expect: "invalid" }),
    () => ({ data: new Uint8Array([0xff, 0xff, ...(actionFrame("bare", 1n, "increment", [1]) as Uint8Array).subarray(2)]), expect: "invalid" }),
    () => ({ data: randomBytes(40), expect: "any" }),
    () => ({ data: new Uint8Array(0), expect: "invalid" }),
    () => ({ data: "hello", expect: "invalid" }),
    () => ({ data: toServer.encode("bare", { tag: "SubscriptionRequest", val: { eventName: "e".repeat(1000), subscribe: true } }), expect: "quiet" }),
  ],
};

test(`hostile HTTP and WebSocket input (seed ${SEED}, ${COUNT} inputs)`, { timeout: 300_000 }, async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on("unhandledRejection", onUnhandled);
  const h = await startServer({ use: { counter, chatRoom, jobBoard }, maxBodyBytes: 1024 * 1024 });
  let tried = 0;
  const statuses = new Map<number, number>();
  const closes = new Map<string, number>();
  try {
    const good = h.client.counter.getOrCreate(["good"]);
    await good.increment(1);
    // Fuzz a different actor: some random inputs are valid calls.
    const counterId = await h.client.counter.getOrCreate(["target"]).resolve();
    const boardId = await h.client.jobBoard.getOrCreate(["b"]).resolve();
    const rssBefore = process.memoryUsage().rss;
    /** What the target's count must read: the output of the last increment it acknowledged (as JSON, where Infinity is null). */
    let model = "0";
    let acked = 0;
    const readTarget = async () => {
      const r = await callAction(h.url, counterId, "get");
      assert.equal(r.status, 200, `the target answers get: ${r.text}`);
      return JSON.stringify(r.body.output);
    };

    for (let i = 0; i < COUNT; i++) {
      const kind = rnd();
      tried++;
      if (kind < 0.7) {
        const id = pick([counterId, boardId, "nope"]);
        const b = pick(bodies)();
        const method = pick(["POST", "POST", "PUT", "GET", "DELETE", "PATCH"]);
        const path = pick(paths(id));
        const header = rnd() < 0.8 && b.encoding ? b.encoding : pick([undefined, "json", "cbor", "bare", "bogus"]);
        const encoding: Encoding = header === "cbor" || header === "bare" ? header : "json";
        const res = await fetch(`${h.url}${path}`, {
          method,
          headers: { ...(b.type ? { "content-type": b.type } : {}), ...(header ? { "x-rivet-encoding": header } : {}) },
          body: method === "GET" ? undefined : (b.body as BodyInit),
        }).catch((err: Error) => err);
        const what = `input ${i} (${method} ${path.slice(0, 60)}, ${b.type} ${String(b.body).slice(0, 40)}, encoding ${header})`;
        if (res instanceof Error) throw new Error(`${what} failed at the transport: ${res.message} ${String((res as { cause?: unknown }).cause)}`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const bytes = new Uint8Array(await res.arrayBuffer());
        const type = res.headers.get("content-type") ?? "";
        assert.ok(res.status < 500, `${what} got ${res.status}: ${new TextDecoder().decode(bytes).slice(0, 200)}`);
        if (res.status >= 400 && (path.startsWith("/gateway") || path.startsWith("/actors") || type.includes("json"))) {
          const e = errorOf(bytes, type, header === "bogus" ? "json" : encoding);
          assert.ok(typeof e !== "string", `${what}: ${e}`);
          assert.match(e.code, /^[a-z_]+$/, `${what}: a stable error code`);
          assert.match(e.group, /^[a-z_]+$/, `${what}: a stable error group`);
        }
        const incrementsTarget = path === `/gateway/${counterId}/action/increment` || path.includes("rvt-method=get&rvt-key=target");
        if (res.status === 200 && method === "POST" && incrementsTarget) {
          model = JSON.stringify(httpActionResponse.decode(type.startsWith("application/json") ? "json" : encoding, bytes).output);
          acked++;
        }
      } else if (kind < 0.9) {
        const encoding = pick<Encoding>(["json", "cbor", "bare"]);
        const target = rnd() < 0.8 ? counterId : "nope";
        // Now and then hostile subprotocols: an unknown encoding, params that are not URL encoding or not JSON.
        const hostile = rnd() < 0.15 ? pick([["rivet", "rivet_encoding.bogus"], ["rivet", `rivet_encoding.${encoding}`, "rivet_conn_params.%ZZ"], ["rivet", `rivet_encoding.${encoding}`, `rivet_conn_params.${encodeURIComponent("{")}`]]) : undefined;
        const c = rivetSocket(h.url, target, encoding, hostile);
        await c.opened;
        const frame = pick(frames[encoding])();
        const SENTINEL = 987_654_321n;
        if (c.ws.readyState === WebSocket.OPEN) {
          c.send(frame.data);
          // A call after it: its answer (or the close) says the server is done with the frame.
          c.send(actionFrame(encoding, SENTINEL, "get", []));
        }
        const settled = await c.until(() => c.frames.some((f) => (f.tag === "ActionResponse" && f.val.id === SENTINEL) || (f.tag === "Error" && f.val.actionId === SENTINEL)), 5_000);
        const what = `input ${i} (${encoding} frame ${typeof frame.data === "string" ? JSON.stringify(frame.data.slice(0, 60)) : Buffer.from(frame.data.subarray(0, 30)).toString("hex")} to ${target === counterId ? "the target" : "nope"}${hostile ? ` offering ${hostile.join(",")}` : ""})`;
        assert.ok(settled, `${what}: neither answered nor closed within 5 s`);
        assert.deepEqual(c.bad, [], what);
        const closedWith = c.closedWith;
        if (closedWith) closes.set(String(closedWith.code), (closes.get(String(closedWith.code)) ?? 0) + 1);
        if (hostile) {
          assert.equal(closedWith?.code, 1008, `${what}: refused`);
          assert.match(closedWith!.reason, /^(encoding|request)\.invalid#/, what);
        } else if (target !== counterId) {
          assert.equal(closedWith?.code, 4404, `${what}: no such actor`);
          assert.match(closedWith!.reason, /^actor\.not_found#/, what);
          assert.ok(c.frames.some((f) => f.tag === "Error" && f.val.actionId === null && f.val.code === "not_found"), `${what}: the Error frame came first`);
        } else if (frame.expect === "invalid") {
          assert.equal(closedWith?.code, 1007, `${what}: a malformed frame closes 1007`);
          assert.match(closedWith!.reason, /^request\.invalid#/, what);
        } else if (frame.expect === "tooBig") {
          assert.equal(closedWith?.code, 1009, `${what}: a frame past maxBodyBytes closes 1009`);
        } else if (frame.expect === "answered" || frame.expect === "quiet") {
          assert.equal(closedWith, undefined, `${what}: a well-formed frame keeps the connection`);
          const reply = c.frames.find((f) => (f.tag === "ActionResponse" && f.val.id === 1n) || (f.tag === "Error" && f.val.actionId === 1n));
          assert.equal(reply !== undefined, frame.expect === "answered", `${what}: ${frame.expect}`);
        } else if (closedWith) {
          assert.equal(closedWith.code, 1007, `${what}: closed for the frame`);
          assert.match(closedWith.reason, /^request\.invalid#/, what);
        }
        for (const f of c.frames) {
          if (f.tag === "Error") assert.match(`${f.val.group}.${f.val.code}`, /^[a-z_]+\.[a-z_]+$/, `${what}: a stable error code`);
          if (target !== counterId) continue;
          // Only increments are sent to the target (get is the sentinel): an answer is an acknowledged increment.
          if (f.tag === "ActionResponse" && f.val.id !== SENTINEL) {
            model = JSON.stringify(f.val.output);
            acked++;
          }
        }
        const sentinel = c.frames.find((f) => f.tag === "ActionResponse" && f.val.id === SENTINEL);
        if (sentinel?.tag === "ActionResponse") assert.equal(JSON.stringify(sentinel.val.output), model, `${what}: the count read on the connection`);
        c.ws.terminate();
      } else if (kind < 0.93) {
        // Interleaved WebSocket frames: a new message starts before the fragmented one ended.
        const c = rivetSocket(h.url, counterId, "json");
        await c.opened;
        if (c.ws.readyState === WebSocket.OPEN) {
          c.ws.send('{"body":{"tag":"Act', { fin: false });
          (c.ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x7a ^ 1, 0x7b ^ 2]));
          const code = await Promise.race([c.closed.then((x) => x.code), new Promise<number>((r) => setTimeout(() => r(-1), 500))]);
          assert.ok(code !== -1, "an interleaved frame closes the connection");
        }
        c.ws.terminate();
      } else if (kind < 0.96) {
        // Bad headers on a raw socket: a body longer than its content-length, then junk header bytes.
        const port = Number(new URL(h.url).port);
        const reply = await new Promise<string>((resolve) => {
          let got = "";
          const s = net.connect(port, "127.0.0.1", () => {
            s.write(pick([
              `POST /gateway/${counterId}/action/increment HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{"args":[1]}`,
              `POST /gateway/${counterId}/action/increment HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\nx-rivet-encoding: cbor\r\ncontent-length: 1\r\n\r\n\u0081\u0001`,
              `GET /health HTTP/1.1\r\nhost: x\r\nx-bad\u0001header: \u0000\r\n\r\n`,
              `GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n`,
              `POST /actors HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
            ]));
          });
          s.on("data", (d) => (got += d));
          s.on("error", () => resolve(got));
          s.on("close", () => resolve(got));
          setTimeout(() => s.destroy(), 300);
        });
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
        assert.ok(status === 0 || status < 500, `bad headers got ${status}`);
      } else {
        // A raw socket that sends half a request and goes quiet (slowloris-style), then leaves.
        const port = Number(new URL(h.url).port);
        await new Promise<void>((resolve) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.write(`POST /gateway/${counterId}/action/increment HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ar`);
            setTimeout(() => (s.destroy(), resolve()), 20);
          });
          s.on("error", () => resolve());
        });
      }
      // The target changed only by what it acknowledged, and to exactly that.
      assert.equal(await readTarget(), model, `after input ${i}: the target's count is the last acknowledged increment's output`);
    }
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    assert.ok(rssAfter - rssBefore < 256 * 1024 * 1024, `memory stayed bounded (${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MB growth)`);
    // The well-behaved client was never affected.
    assert.equal(await good.increment(1), 2);
    assert.ok(acked > 0, "some fuzzed inputs were valid increments");
    assert.equal(unhandled.length, 0, `unhandled rejections: ${unhandled.map(String).join("; ")}`);
    console.log(`fuzz: ${tried} inputs, 0 crashes, ${acked} acknowledged increments, statuses ${JSON.stringify(Object.fromEntries(statuses))}, closes ${JSON.stringify(Object.fromEntries(closes))}`);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await h.close();
  }
});

// The client caps (docs/PROTOCOL.md, "Limits") under random pressure, on its own generator so
// it replays alone: random frames before admission, random bursts of calls, random runs of
// subscribe and unsubscribe, in json or cbor. A model of each cap predicts whether it must trip;
// the server must close exactly then, with the documented code and reason, and otherwise answer everything.
const LIMITS_COUNT = Math.max(60, Math.round(COUNT / 20));
const CAPS = { maxEarlyFrames: 16, maxEarlyBytes: 64 * 1024, maxPendingCalls: 16, maxPendingCallBytes: 128 * 1024, maxSubscriptions: 16 };

const lobby = actor({
  state: {},
  onBeforeConnect: async (_c, params: { holdMs?: number } | undefined) => {
    await new Promise((r) => setTimeout(r, params?.holdMs ?? 0));
  },
  actions: {
    ping: () => "pong",
    wait: async (_c, ms: number) => (await new Promise((r) => setTimeout(r, ms)), ms),
  },
  options: { reentrant: true },
});

test(`client caps under random pressure (seed ${SEED}, ${LIMITS_COUNT} inputs)`, { timeout: 600_000 }, async () => {
  let s = (SEED ^ 0x2545f491) >>> 0;
  const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  const h = await startServer({ use: { lobby, counter }, limits: CAPS });
  const outcomes = new Map<string, number>();
  const note = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  try {
    const id = await h.client.lobby.getOrCreate(["l"]).resolve();
    const good = h.client.counter.getOrCreate(["good"]);
    const rssBefore = process.memoryUsage().rss;
    const ws = (holdMs: number, encoding: Encoding) => {
      const c = rivetSocket(h.url, id, encoding, ["rivet", `rivet_encoding.${encoding}`, `rivet_conn_params.${encodeURIComponent(JSON.stringify({ holdMs }))}`]);
      const closed = c.closed.then(({ code, reason }): [number, string] => [code, reason]);
      return { ...c, sock: c.ws, closed, messages: c.frames };
    };
    /** Waits for the close, or until `done()` holds (then the connection is still open: undefined). */
    const closedOr = async (c: { closed: Promise<[number, string]> }, done: () => boolean, ms = 2_000) => {
      let result: [number, string] | undefined;
      void c.closed.then((x) => (result = x));
      for (const end = Date.now() + ms; !result && !done() && Date.now() < end; ) await new Promise((res) => setTimeout(res, 5));
      return result;
    };
    const replies = (c: { messages: ToClient[] }) => c.messages.filter((m) => m.tag === "ActionResponse");
    const initiated = async (c: { messages: ToClient[]; until: (done: () => boolean, ms: number) => Promise<boolean> }) => {
      assert.ok(await c.until(() => c.messages.length > 0, 5_000), "the connection was admitted");
      assert.equal(c.messages[0]!.tag, "Init");
    };
    /** A frame in the socket's encoding, and its size as the caps count it. */
    const frame = (encoding: Encoding, body: Parameters<typeof toServer.encode>[1]) => {
      const data = toServer.encode(encoding, body);
      return { data, size: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength };
    };

    for (let i = 0; i < LIMITS_COUNT; i++) {
      const kind = r();
      const encoding = r() < 0.5 ? "json" : "cbor";
      if (kind < 0.34) {
        // Frames before admission: sizes from tiny to 12 KiB, some not even well-formed.
        const c = ws(150, encoding);
        await c.opened;
        const n = int(0, 40);
        let frames = 0;
        let bytes = 0;
        let trips = false;
        let malformed = false;
        for (let k = 0; k < n; k++) {
          const size = pick([2, 100, 4 * 1024, 12 * 1024]);
          const valid = r() < 0.8;
          malformed ||= !valid;
          const f = valid ? frame(encoding, { tag: "ActionRequest", val: { id: BigInt(k), name: "ping", args: ["x".repeat(size)] } }) : { data: encoding === "json" ? "{".repeat(size) : new Uint8Array(size).fill(0xff), size };
          if (!trips && (frames >= CAPS.maxEarlyFrames || (bytes > 0 && bytes + f.size > CAPS.maxEarlyBytes))) trips = true;
          frames++;
          bytes += f.size;
          c.send(f.data);
        }
        const [code, reason] = (await closedOr(c, () => !trips && !malformed && c.messages.length === n + 1)) ?? [0, ""];
        if (trips) {
          assert.equal(code, 1008, `input ${i}: ${n} early ${encoding} frames, ${bytes} bytes must trip the cap`);
          assert.match(reason, /^connection\.too_many_early_frames#/);
          note(`early ${encoding}: closed 1008 too_many_early_frames`);
        } else {
          if (malformed) {
            assert.equal(code, 1007, `input ${i}: ${n} early ${encoding} frames within the caps, one malformed: admitted, then closed for it (${reason})`);
            assert.match(reason, /^request\.invalid#/);
            assert.equal(c.messages[0]?.tag, "Init", `input ${i}: admitted first`);
            note(`early ${encoding}: admitted, then 1007 for a malformed frame`);
          } else {
            assert.equal(code, 0, `input ${i}: ${n} early ${encoding} frames, ${bytes} bytes are within the caps (${reason})`);
            assert.equal(c.messages.length, n + 1, `input ${i}: init and every early call answered`);
            assert.equal(c.messages[0]!.tag, "Init");
            assert.equal(replies(c).length, n);
            note(`early ${encoding}: admitted, all answered`);
          }
        }
        assert.deepEqual(c.bad, []);
        c.sock.terminate();
      } else if (kind < 0.67) {
        // A burst of calls that all stay pending (each waits 150 ms), with random argument sizes.
        const c = ws(0, encoding);
        await c.opened;
        await initiated(c);
        const n = int(1, 30);
        let calls = 0;
        let bytes = 0;
        let trips = false;
        for (let k = 0; k < n; k++) {
          const f = frame(encoding, { tag: "ActionRequest", val: { id: BigInt(k), name: "wait", args: [150, "y".repeat(pick([0, 1024, 16 * 1024, 40 * 1024]))] } });
          if (!trips && (calls >= CAPS.maxPendingCalls || (bytes > 0 && bytes + f.size > CAPS.maxPendingCallBytes))) trips = true;
          calls++;
          bytes += f.size;
          c.send(f.data);
        }
        const result = await closedOr(c, () => !trips && replies(c).length === n);
        if (trips) {
          assert.deepEqual(result?.[0], 1008, `input ${i}: ${n} ${encoding} calls, ${bytes} bytes must trip the cap`);
          assert.match(result![1], /^connection\.too_many_pending_calls#/);
          note(`calls ${encoding}: closed 1008 too_many_pending_calls`);
        } else {
          assert.equal(result, undefined, `input ${i}: ${n} ${encoding} calls within the caps keep the connection`);
          const ids = replies(c).map((m) => Number((m.val as { id: bigint }).id)).sort((a, b) => a - b);
          assert.deepEqual(ids, Array.from({ length: n }, (_, k) => k), `input ${i}: every call answered`);
          note(`calls ${encoding}: all answered`);
        }
        assert.deepEqual(c.bad, []);
        c.sock.terminate();
      } else {
        // Random subscribe and unsubscribe over a random number of event names, then a call.
        const c = ws(0, encoding);
        await c.opened;
        await initiated(c);
        const names = int(1, 40);
        const model = new Set<string>();
        let trips = false;
        for (let k = int(1, 80); k > 0; k--) {
          const event = `ev-${int(1, names)}`;
          const sub = r() < 0.7;
          if (sub) {
            if (!model.has(event) && model.size >= CAPS.maxSubscriptions) trips = true;
            model.add(event);
          } else model.delete(event);
          c.send(frame(encoding, { tag: "SubscriptionRequest", val: { eventName: event, subscribe: sub } }).data);
          if (trips) break;
        }
        c.send(frame(encoding, { tag: "ActionRequest", val: { id: 1n, name: "ping", args: [] } }).data);
        const result = await closedOr(c, () => !trips && replies(c).length === 1);
        if (trips) {
          assert.equal(result?.[0], 1008, `input ${i}: the subscription past the cap must close`);
          assert.match(result![1], /^connection\.too_many_subscriptions#/);
          note(`subs ${encoding}: closed 1008 too_many_subscriptions`);
        } else {
          assert.equal(result, undefined, `input ${i}: ${model.size} subscriptions are within the cap`);
          assert.ok(replies(c).some((m) => m.tag === "ActionResponse" && m.val.id === 1n && m.val.output === "pong"), `input ${i}: still served`);
          note(`subs ${encoding}: within the cap, served`);
        }
        assert.deepEqual(c.bad, []);
        c.sock.terminate();
      }
      if (i % 10 === 0) assert.equal(typeof (await good.increment(1)), "number", "the good client is served");
    }
    global.gc?.();
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 256 * 1024 * 1024, `memory stayed bounded (${(grown / 2 ** 20).toFixed(0)} MB growth)`);
    assert.equal(unhandled.length, 0, `unhandled rejections: ${unhandled.map(String).join("; ")}`);
    console.log(`fuzz caps: ${LIMITS_COUNT} inputs, 0 crashes, outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await h.close();
  }
});
