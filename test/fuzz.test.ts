import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import WebSocket from "ws";
import { chatRoom } from "../examples/chat-room.js";
import { counter } from "../examples/counter.js";
import { jobBoard } from "../examples/job-board.js";
import { actor } from "../src/index.js";
import { startServer } from "./helpers/harness.js";

// Hostile input on a fixed seed (`TROUPE_FUZZ_SEED`, `TROUPE_FUZZ_COUNT` for longer runs): the server
// must answer every bad HTTP request with a 4xx and a stable code, close bad WebSockets with a
// reason, never crash or leave an unhandled rejection, and keep serving a well-behaved client.
const seedEnv = process.env.TROUPE_FUZZ_SEED;
let seed = seedEnv === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(seedEnv ?? 424242);
const SEED = seed;
console.log(`fuzz seed ${seed}`);
const COUNT = Number(process.env.TROUPE_FUZZ_COUNT ?? 400);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function deep(n: number, open: string, close: string): string {
  return open.repeat(n) + close.repeat(n);
}

const bodies: Array<() => { body: BodyInit; type?: string }> = [
  () => ({ body: "{not json", type: "application/json" }),
  () => ({ body: deep(50_000, "[", "]"), type: "application/json" }),
  () => ({ body: JSON.stringify({ args: JSON.parse(deep(2000, "[", "]")) }), type: "application/json" }),
  () => ({ body: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), type: "application/json" }),
  () => ({ body: new Uint8Array(Array.from({ length: 64 }, () => Math.floor(rnd() * 256))), type: "application/cbor" }),
  () => ({ body: new Uint8Array(Array.from({ length: 5000 }, () => 0x81)), type: "application/cbor" }),
  () => ({ body: JSON.stringify({ args: "nope" }), type: "application/json" }),
  () => ({ body: JSON.stringify({ name: "counter", key: "k".repeat(5000) }), type: "application/json" }),
  () => ({ body: JSON.stringify({ name: "../../etc/passwd", key: ["x"] }), type: "application/json" }),
  () => ({ body: JSON.stringify({ name: "counter", key: ["\ud800"] }), type: "application/json" }),
  () => ({ body: JSON.stringify({ name: "counter", key: [{}] }), type: "application/json" }),
  () => ({ body: "x".repeat(2 * 1024 * 1024), type: "application/json" }),
  () => ({ body: "<xml/>", type: "application/xml" }),
  () => ({ body: JSON.stringify({ args: [1] }), type: "text/plain; charset=utf-16" }),
  () => ({ body: JSON.stringify({ body: { a: 1 }, wait: "yes" }), type: "application/json" }),
  () => ({ body: JSON.stringify({ args: [Number.MAX_VALUE, -0, 1e308] }), type: "application/json" }),
];

const paths = (id: string) => [
  `/actors/${id}/action/increment`,
  `/actors/${id}/action/${encodeURIComponent("../../secret")}`,
  `/actors/${id}/action/${"a".repeat(3000)}`,
  `/actors/${id}/action/constructor`,
  `/actors/${id}/action/__proto__`,
  `/actors/${id}/queue/jobs`,
  `/actors/${id}/queue/${encodeURIComponent("x\u0000y")}`,
  `/actors/%2e%2e%2f%2e%2e/action/get`,
  `/actors/${"z".repeat(200)}/action/get`,
  "/actors",
  "/actors?name=counter&key=%5B%22%5Cud800%22%5D",
  "/actors?name=counter&key=notjson",
  "/metrics",
  "/inspector/actors",
  "/../../etc/passwd",
  "/health?x=" + "y".repeat(4000),
];

test(`hostile HTTP and WebSocket input (seed ${SEED}, ${COUNT} inputs)`, { timeout: 300_000 }, async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on("unhandledRejection", onUnhandled);
  const h = await startServer({ use: { counter, chatRoom, jobBoard }, maxBodyBytes: 1024 * 1024 });
  let tried = 0;
  const statuses = new Map<number, number>();
  try {
    const good = h.client.counter.getOrCreate(["good"]);
    await good.increment(1);
    // Fuzz a different actor: some random inputs are valid calls.
    const counterId = await h.client.counter.getOrCreate(["target"]).resolve();
    const boardId = await h.client.jobBoard.getOrCreate(["b"]).resolve();
    const rssBefore = process.memoryUsage().rss;

    for (let i = 0; i < COUNT; i++) {
      const kind = rnd();
      tried++;
      if (kind < 0.7) {
        const id = pick([counterId, boardId, "nope"]);
        const b = pick(bodies)();
        const method = pick(["POST", "POST", "PUT", "GET", "DELETE", "PATCH"]);
        const path = pick(paths(id));
        const res = await fetch(`${h.url}${path}`, {
          method,
          headers: { ...(b.type ? { "content-type": b.type } : {}), ...(rnd() < 0.2 ? { accept: "application/cbor" } : {}) },
          body: method === "GET" ? undefined : b.body,
        }).catch((err: Error) => err);
        if (res instanceof Error) throw new Error(`request ${i} (${method} ${b.type} ${String(b.body).slice(0, 40)}) ${path.slice(0, 60)} failed at the transport: ${res.message} ${String((res as { cause?: unknown }).cause)}`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        assert.ok(res.status < 500, `input ${i} got ${res.status}: ${text.slice(0, 200)}`);
        if (res.status >= 400 && (res.headers.get("content-type") ?? "").includes("json")) {
          assert.match(text, /"code":"[a-z_]+"/, `input ${i}: a stable error code`);
        }
      } else if (kind < 0.9) {
        const ws = new WebSocket(`${h.url.replace("http", "ws")}/actors/${pick([counterId, "nope"])}/connect`, ["troupe"]);
        const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
        ws.on("error", () => {});
        await new Promise((r) => (ws.once("open", r), ws.once("close", r)));
        if (ws.readyState === ws.OPEN) {
          const frame = pick<() => string | Buffer>([
            () => "{",
            () => JSON.stringify({ t: "nope" }),
            () => JSON.stringify({ t: "action", id: "x", name: 5 }),
            () => JSON.stringify({ t: "action", id: 1, name: "increment", args: JSON.parse(deep(500, "[", "]")) }),
            () => Buffer.from(Array.from({ length: 40 }, () => Math.floor(rnd() * 256))),
            () => "x".repeat(1024 * 1024 + 10),
            () => JSON.stringify({ t: "sub", event: "e".repeat(1000) }),
          ])();
          ws.send(frame);
          const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 300))]);
          if (code === -1) ws.terminate();
        }
      } else if (kind < 0.93) {
        // Interleaved WebSocket frames: a new message starts before the fragmented one ended.
        const ws = new WebSocket(`${h.url.replace("http", "ws")}/actors/${counterId}/connect`, ["troupe"]);
        ws.on("error", () => {});
        const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
        await new Promise((r) => (ws.once("open", r), ws.once("close", r)));
        if (ws.readyState === ws.OPEN) {
          ws.send('{"t":"act', { fin: false });
          (ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x7a ^ 1, 0x7b ^ 2]));
          const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 500))]);
          assert.ok(code !== -1, "an interleaved frame closes the connection");
        }
      } else if (kind < 0.96) {
        // Bad headers on a raw socket: a body longer than its content-length, then junk header bytes.
        const port = Number(new URL(h.url).port);
        const reply = await new Promise<string>((resolve) => {
          let got = "";
          const s = net.connect(port, "127.0.0.1", () => {
            s.write(pick([
              `POST /actors/${counterId}/action/increment HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{"args":[1]}`,
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
            s.write(`POST /actors/${counterId}/action/increment HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ar`);
            setTimeout(() => (s.destroy(), resolve()), 20);
          });
          s.on("error", () => resolve());
        });
      }
    }
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    assert.ok(rssAfter - rssBefore < 256 * 1024 * 1024, `memory stayed bounded (${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MB growth)`);
    // The well-behaved client was never affected.
    assert.equal(await good.increment(1), 2);
    assert.equal(unhandled.length, 0, `unhandled rejections: ${unhandled.map(String).join("; ")}`);
    console.log(`fuzz: ${tried} inputs, 0 crashes, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await h.close();
  }
});

// The client caps (docs/PROTOCOL.md, "Limits") under random pressure, on its own generator so
// it replays alone: random frames before admission, random bursts of calls, random runs of
// subscribe and unsubscribe. A model of each cap predicts whether it must trip; the server must
// close exactly then, with the documented code and reason, and otherwise answer everything.
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
    const ws = (holdMs: number) => {
      const sock = new WebSocket(`${h.url.replace("http", "ws")}/actors/${id}/connect`, ["troupe"], { headers: { "x-troupe-conn-params": JSON.stringify({ holdMs }) } });
      sock.on("error", () => {});
      const closed = new Promise<[number, string]>((res) => sock.once("close", (code, why) => res([code, why.toString()])));
      const messages: any[] = [];
      sock.on("message", (d) => messages.push(JSON.parse(d.toString())));
      return { sock, closed, messages, opened: new Promise((res) => sock.once("open", res)) };
    };
    /** Waits for the close, or until `done()` holds (then the connection is still open: undefined). */
    const closedOr = async (c: { closed: Promise<[number, string]> }, done: () => boolean, ms = 2_000) => {
      let result: [number, string] | undefined;
      void c.closed.then((x) => (result = x));
      for (const end = Date.now() + ms; !result && !done() && Date.now() < end; ) await new Promise((res) => setTimeout(res, 5));
      return result;
    };
    const replies = (c: { messages: any[] }) => c.messages.filter((m) => m.t === "reply").length;

    for (let i = 0; i < LIMITS_COUNT; i++) {
      const kind = r();
      if (kind < 0.34) {
        // Frames before admission: sizes from tiny to 12 KiB, some not even JSON.
        const c = ws(150);
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
          const frame = valid ? JSON.stringify({ t: "action", id: k, name: "ping", args: ["x".repeat(size)] }) : "{".repeat(size);
          if (!trips && (frames >= CAPS.maxEarlyFrames || (bytes > 0 && bytes + frame.length > CAPS.maxEarlyBytes))) trips = true;
          frames++;
          bytes += frame.length;
          c.sock.send(frame);
        }
        const [code, reason] = (await closedOr(c, () => !trips && !malformed && c.messages.length === n + 1)) ?? [0, ""];
        if (trips) {
          assert.equal(code, 1008, `input ${i}: ${n} early frames, ${bytes} bytes must trip the cap`);
          assert.match(reason, /^too_many_early_frames: /);
          note("early: closed 1008 too_many_early_frames");
        } else {
          if (malformed) {
            assert.equal(code, 1007, `input ${i}: ${n} early frames within the caps, one malformed: admitted, then closed for it (${reason})`);
            note("early: admitted, then 1007 for a malformed frame");
          } else {
            assert.equal(code, 0, `input ${i}: ${n} early frames, ${bytes} bytes are within the caps (${reason})`);
            assert.equal(c.messages.length, n + 1, `input ${i}: init and every early call answered`);
            note("early: admitted, all answered");
          }
        }
        c.sock.terminate();
      } else if (kind < 0.67) {
        // A burst of calls that all stay pending (each waits 150 ms), with random argument sizes.
        const c = ws(0);
        await c.opened;
        await new Promise<void>((res) => (c.messages.length > 0 ? res() : c.sock.once("message", () => res())));
        const n = int(1, 30);
        let calls = 0;
        let bytes = 0;
        let trips = false;
        for (let k = 0; k < n; k++) {
          const frame = JSON.stringify({ t: "action", id: k, name: "wait", args: [150, "y".repeat(pick([0, 1024, 16 * 1024, 40 * 1024]))] });
          if (!trips && (calls >= CAPS.maxPendingCalls || (bytes > 0 && bytes + frame.length > CAPS.maxPendingCallBytes))) trips = true;
          calls++;
          bytes += frame.length;
          c.sock.send(frame);
        }
        const result = await closedOr(c, () => !trips && replies(c) === n);
        if (trips) {
          assert.deepEqual(result?.[0], 1008, `input ${i}: ${n} calls, ${bytes} bytes must trip the cap`);
          assert.match(result![1], /^too_many_pending_calls: /);
          note("calls: closed 1008 too_many_pending_calls");
        } else {
          assert.equal(result, undefined, `input ${i}: ${n} calls within the caps keep the connection`);
          assert.deepEqual(c.messages.filter((m) => m.t === "reply").map((m) => m.id).sort((a, b) => a - b), Array.from({ length: n }, (_, k) => k), `input ${i}: every call answered`);
          note("calls: all answered");
        }
        c.sock.terminate();
      } else {
        // Random subscribe and unsubscribe over a random number of event names, then a call.
        const c = ws(0);
        await c.opened;
        await new Promise<void>((res) => (c.messages.length > 0 ? res() : c.sock.once("message", () => res())));
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
          c.sock.send(JSON.stringify({ t: sub ? "sub" : "unsub", event }));
          if (trips) break;
        }
        c.sock.send(JSON.stringify({ t: "action", id: 1, name: "ping" }));
        const result = await closedOr(c, () => !trips && replies(c) === 1);
        if (trips) {
          assert.equal(result?.[0], 1008, `input ${i}: the subscription past the cap must close`);
          assert.match(result![1], /^too_many_subscriptions: /);
          note("subs: closed 1008 too_many_subscriptions");
        } else {
          assert.equal(result, undefined, `input ${i}: ${model.size} subscriptions are within the cap`);
          assert.ok(c.messages.some((m) => m.t === "reply" && m.id === 1 && m.output === "pong"), `input ${i}: still served`);
          note("subs: within the cap, served");
        }
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
