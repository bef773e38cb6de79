import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { actor } from "../src/index.js";
import { sleep, startServer } from "./helpers/harness.js";
import { gatewayUrl, WireConn } from "./helpers/wire.js";

// Clients that hold a socket without finishing anything: headers dribbled byte by byte, a body
// that never ends, an upgrade that never completes, a WebSocket that stops answering pings.
// Each is cut within its configured timeout (short here), and other clients are served meanwhile.
const LIMITS = {
  headersTimeoutMs: 500,
  requestTimeoutMs: 1_000,
  keepAliveTimeoutMs: 300,
  upgradeTimeoutMs: 500,
  pingIntervalMs: 100,
  idleTimeoutMs: 300,
};
/** Node sweeps its header and request timeouts every headersTimeoutMs / 4; allow for scheduling too. */
const SLACK = 600;
const TOKEN = "slow-clients-metrics-token";

const sleepy = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counter = actor({
  state: { n: 0 },
  onBeforeConnect: async (_c, params: { holdMs?: number } | undefined) => {
    await sleepy(params?.holdMs ?? 0);
  },
  actions: {
    inc: (c) => ++c.state.n,
    get: (c) => c.state.n,
    slowInc: async (c, ms: number) => (await sleepy(ms), ++c.state.n),
  },
  onWebSocket: (_c, socket) => socket.send("hi"),
});

let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
let port: number;
const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  h = await startServer({ use: { counter }, limits: LIMITS, metrics: { token: TOKEN } });
  port = Number(new URL(h.url).port);
});
after(async () => {
  process.off("unhandledRejection", onUnhandled);
  await h.close();
  assert.deepEqual(unhandled, [], "no unhandled rejection");
});

/** A raw TCP client that writes `first`, then one byte of `dribble` every 50 ms; reports what came back and when the server closed. */
function dribbler(first: string, dribble = "x-slow: " + "a".repeat(10_000)): Promise<{ got: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = "";
    let i = 0;
    const s = net.connect(port, "127.0.0.1", () => s.write(first));
    const timer = setInterval(() => {
      if (s.writable && i < dribble.length) s.write(dribble[i++]!);
    }, 50);
    s.on("data", (d) => (got += d));
    s.on("error", () => {});
    s.on("close", () => {
      clearInterval(timer);
      resolve({ got, ms: performance.now() - t0 });
    });
  });
}

const served = async () => assert.equal((await fetch(`${h.url}/health`, { headers: { connection: "close" } })).status, 200, "another client is served");

describe("HTTP", () => {
  test("headers dribbled byte by byte: 408 request_timed_out within headersTimeoutMs", async () => {
    const slow = dribbler("GET /health HTTP/1.1\r\nhost: x\r\n");
    await sleep(100);
    await served();
    const { got, ms } = await slow;
    assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"request_timed_out"/);
    assert.ok(ms >= LIMITS.headersTimeoutMs - 50 && ms < LIMITS.headersTimeoutMs + SLACK, `cut after ${ms.toFixed(0)} ms`);
  });

  test("a body that never finishes: 408 request_timed_out within requestTimeoutMs, and the action never runs", async () => {
    const id = await h.client.counter.getOrCreate(["body"]).resolve();
    const slow = dribbler(`POST /gateway/${id}/action/inc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"args":[`, "1,".repeat(10_000));
    await sleep(100);
    await served();
    const { got, ms } = await slow;
    assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"request_timed_out"/);
    assert.ok(ms >= LIMITS.requestTimeoutMs - 50 && ms < LIMITS.requestTimeoutMs + SLACK, `cut after ${ms.toFixed(0)} ms`);
    assert.equal(await h.client.counter.getOrCreate(["body"]).get(), 0);
  });

  test("an idle keep-alive connection closes after keepAliveTimeoutMs", async () => {
    const { got, ms } = await new Promise<{ got: string; ms: number }>((resolve) => {
      let got = "";
      let t0 = 0;
      const s = net.connect(port, "127.0.0.1", () => s.write("GET /health HTTP/1.1\r\nhost: x\r\n\r\n"));
      s.on("data", (d) => {
        got += d;
        t0 ||= performance.now();
      });
      s.on("close", () => resolve({ got, ms: performance.now() - t0 }));
    });
    assert.match(got, /^HTTP\/1\.1 200/);
    // Node keeps an idle socket up to 1 s past keepAliveTimeout, so a client's reuse never races it.
    assert.ok(ms >= LIMITS.keepAliveTimeoutMs - 50 && ms < LIMITS.keepAliveTimeoutMs + 1_000 + SLACK, `closed after ${ms.toFixed(0)} ms`);
  });

  test("a request received in time may take longer than requestTimeoutMs to be answered", async () => {
    // requestTimeoutMs bounds receiving the request, not running the action.
    const t0 = performance.now();
    assert.equal(await h.client.counter.getOrCreate(["long"]).slowInc(LIMITS.requestTimeoutMs + 500), 1);
    assert.ok(performance.now() - t0 >= LIMITS.requestTimeoutMs + 500);
  });
});

describe("WebSocket upgrades", () => {
  test("upgrade headers that never complete: 408 within headersTimeoutMs", async () => {
    const key = crypto.randomBytes(16).toString("base64");
    const slow = dribbler(`GET /gateway/abc/connect HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: rivet, rivet_encoding.json\r\nsec-websocket-key: ${key}\r\n`);
    await sleep(100);
    await served();
    const { got, ms } = await slow;
    assert.match(got, /^HTTP\/1\.1 408 /);
    assert.ok(ms < LIMITS.headersTimeoutMs + SLACK, `cut after ${ms.toFixed(0)} ms`);
  });

  test("a connection not admitted within upgradeTimeoutMs: closed 1013 upgrade_timed_out", async () => {
    const id = await h.client.counter.getOrCreate(["held"]).resolve();
    const t0 = performance.now();
    const conn = new WireConn(h.url, id, { params: { holdMs: 3_000 } });
    const { code, reason } = await conn.closed;
    const ms = performance.now() - t0;
    assert.equal(code, 1013);
    assert.match(reason, /^connection\.upgrade_timed_out#/);
    assert.equal(conn.frames.filter((f) => f.tag === "Init").length, 0, "never admitted");
    assert.ok(ms >= LIMITS.upgradeTimeoutMs - 50 && ms < LIMITS.upgradeTimeoutMs + SLACK, `closed after ${ms.toFixed(0)} ms`);
    await served();
  });

  test("a refused upgrade whose client never closes its end: the server lets the socket go at once", async () => {
    const key = crypto.randomBytes(16).toString("base64");
    const { got, ms } = await new Promise<{ got: string; ms: number }>((resolve) => {
      let got = "";
      const t0 = performance.now();
      // allowHalfOpen: this client never ends its side; only the server can close the socket.
      const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () =>
        s.write(`GET /gateway/abc/connect HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\norigin: https://evil.example\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: rivet, rivet_encoding.json\r\nsec-websocket-key: ${key}\r\n\r\n`),
      );
      s.on("data", (d) => (got += d));
      s.on("error", () => {});
      // Half-open on this side: the server's FIN ends the stream; no close follows by itself.
      s.on("end", () => {
        resolve({ got, ms: performance.now() - t0 });
        s.destroy();
      });
    });
    assert.match(got, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*"code":"origin_not_allowed"/);
    assert.ok(ms < LIMITS.upgradeTimeoutMs, `closed after ${ms.toFixed(0)} ms`);
  });
});

describe("silent WebSockets", () => {
  const closedTotal = async () => {
    const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    return Number(/troupe_actor_connections_closed_total\{actor_name="counter",reason="error"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  test("a client that stops answering pings: closed 1001 idle_timeout within idleTimeoutMs + pingIntervalMs, counted as an error close", async () => {
    const before = await closedTotal();
    const id = await h.client.counter.getOrCreate(["silent"]).resolve();
    const ws = new WebSocket(gatewayUrl(h.url.replace("http", "ws"), id, "/connect"), ["rivet", "rivet_encoding.json"], { autoPong: false });
    ws.on("error", () => {});
    const init = await new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    assert.match(init, /"tag":"Init"/, "admitted");
    const t0 = performance.now();
    let pings = 0;
    ws.on("ping", () => pings++);
    const [code, reason] = await new Promise<[number, string]>((r) => ws.once("close", (c, why) => r([c, why.toString()])));
    const ms = performance.now() - t0;
    assert.equal(code, 1001);
    assert.match(reason, /^connection\.idle_timeout#/);
    assert.ok(pings >= 2, `the server pinged (${pings})`);
    assert.ok(ms >= LIMITS.idleTimeoutMs - 50 && ms < LIMITS.idleTimeoutMs + LIMITS.pingIntervalMs + SLACK, `closed after ${ms.toFixed(0)} ms`);
    await served();
    for (let i = 0; i < 50 && (await closedTotal()) === before; i++) await sleep(20);
    assert.equal(await closedTotal(), before + 1);
  });

  test("a peer that went dark (no pong, no close frame, no FIN) loses its socket shortly after", async () => {
    const id = await h.client.counter.getOrCreate(["dark"]).resolve();
    const key = crypto.randomBytes(16).toString("base64");
    const ms = await new Promise<number>((resolve) => {
      let t0 = 0;
      const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () =>
        s.write(`GET /gateway/${id}/websocket/ HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: rivet\r\nsec-websocket-key: ${key}\r\n\r\n`),
      );
      // Reads what comes (the kernel would anyway) but never answers anything.
      s.on("data", () => (t0 ||= performance.now()));
      s.on("error", () => {});
      const done = () => {
        resolve(performance.now() - t0);
        s.destroy();
      };
      s.on("end", done);
      s.on("close", done);
    });
    assert.ok(ms < LIMITS.idleTimeoutMs + LIMITS.pingIntervalMs + 1_000 + SLACK, `cut after ${ms.toFixed(0)} ms`);
  });

  test("a healthy idle client (its library answers pings) stays connected", async () => {
    const conn = h.client.counter.getOrCreate(["healthy"]).connect();
    assert.equal(await conn.inc(), 1);
    const closes: unknown[] = [];
    conn.onClose((info) => closes.push(info));
    await sleep(LIMITS.idleTimeoutMs * 4);
    assert.equal(await conn.inc(), 2, "still the same connection");
    assert.deepEqual(closes, []);
    await conn.dispose();
  });
});
