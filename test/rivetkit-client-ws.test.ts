import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import WebSocket from "ws";
import { actor, UserError } from "../src/index.js";
import { startServer } from "./helpers/harness.js";
import { rivetkitMissing, waitFor } from "./helpers/rivetkit-client.js";

// The real rivetkit 2.3.19 client (bench/peer) over real WebSockets against a Troupe server, in
// its three encodings: RivetKit's client protocol, WebSocket half (docs/PROTOCOL.md).

const missing = rivetkitMissing();
const PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bench/peer/node_modules/rivetkit/dist/tsup");

const log: string[] = [];

const room = actor({
  state: { said: 0 },
  createConnState: (_c, params: { user?: string } | undefined) => ({ user: params?.user ?? "anon" }),
  onBeforeConnect: async (_c, params: { user?: string } | undefined) => {
    // "slow" keeps the admission open, for the early-frame cap and the upgrade deadline.
    if (params?.user === "slow") await new Promise((r) => setTimeout(r, 600));
    if (params?.user === "mallory") throw new UserError("mallory may not", { code: "banned", metadata: { who: "mallory" } });
  },
  onConnect: (_c, conn) => void log.push(`connect:${conn.state.user}`),
  onDisconnect: (_c, conn) => void log.push(`disconnect:${conn.state.user}`),
  onWebSocket: (_c, socket, request) => {
    socket.send(`hello ${request.url}`);
    socket.onMessage((data) => socket.send(typeof data === "string" ? `echo:${data}` : new Uint8Array([...data].reverse())));
  },
  actions: {
    say: (c, text: string) => {
      c.state.said++;
      c.broadcast("message", c.conn?.state.user ?? "http", text);
      return c.state.said;
    },
    whisper: (c, text: string) => {
      c.conn?.send("private", text, 2n ** 70n);
      return true;
    },
    whoami: (c) => c.conn?.state.user ?? null,
    double: (_c, n: bigint) => n * 2n,
    fail: () => {
      throw new UserError("not today", { code: "nope", metadata: { reason: "testing", n: 3 } });
    },
    slow: async (_c, ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    },
  },
});

/** Resolves with the next value `subscribe` hands its callback, or fails after `ms`. */
function nextValue<T>(subscribe: (cb: (v: T) => void) => unknown, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for a value")), ms);
    subscribe((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

describe("the real rivetkit 2.3.19 client against Troupe (WebSocket)", { skip: missing }, () => {
  let h: Awaited<ReturnType<typeof startServer<{ room: typeof room }>>>;
  let createClient: (opts: Record<string, unknown>) => any;

  before(async () => {
    process.env.RIVET_LOG_LEVEL ??= "silent";
    h = await startServer({ use: { room } });
    ({ createClient } = (await import(pathToFileURL(path.join(PEER, "client/mod.js")).href)) as { createClient: typeof createClient });
  });
  after(() => h?.close());

  for (const encoding of ["json", "cbor", "bare"] as const) {
    describe(`encoding ${encoding}`, () => {
      let client: any;
      const k = (s: string) => [`${encoding}-${s}`];
      before(() => {
        client = createClient({ endpoint: h.url, encoding, disableMetadataLookup: true });
      });
      after(() => client?.dispose());

      test("connect with params: Init first, then actions over the connection with bigints", async () => {
        const conn = client.room.getOrCreate(k("basic"), { params: { user: "alice" } }).connect();
        try {
          assert.equal(await conn.whoami(), "alice");
          assert.equal(await conn.double(2n ** 70n), 2n ** 71n);
          assert.equal(conn.isConnected, true);
          // Several in flight at once come back to their own callers (ids are bigints on the wire).
          const outs = await Promise.all([conn.slow(30), conn.slow(1), conn.say("x")]);
          assert.deepEqual(outs, [30, 1, 1]);
          assert.ok(log.includes("connect:alice"));
        } finally {
          await conn.dispose();
        }
        await waitFor(() => log.includes("disconnect:alice"), "onDisconnect after dispose");
        log.length = 0;
      });

      test("a connection by id (getForId) works the same", async () => {
        const id = await client.room.getOrCreate(k("by-id")).resolve();
        const conn = client.room.getForId(id).connect({ user: "bob" });
        try {
          assert.equal(await conn.whoami(), "bob");
        } finally {
          await conn.dispose();
        }
      });

      test("a refusal by onBeforeConnect rejects the open and the actions with the user error and metadata", async () => {
        const conn = client.room.getOrCreate(k("refused"), { params: { user: "mallory" } }).connect();
        const errors: any[] = [];
        conn.onError((e: unknown) => errors.push(e));
        try {
          await assert.rejects(conn.whoami(), (err: any) => {
            assert.equal(err.group, "user");
            assert.equal(err.code, "banned");
            assert.deepEqual(err.metadata, { who: "mallory" });
            return true;
          });
          await waitFor(() => errors.length > 0, "onError");
          assert.equal(errors[0].code, "banned");
          assert.equal(conn.isConnected, false);
        } finally {
          await conn.dispose();
        }
      });

      test("a UserError from an action arrives with its code and metadata; the connection stays up", async () => {
        const conn = client.room.getOrCreate(k("err")).connect();
        try {
          await assert.rejects(conn.fail(), (err: any) => {
            assert.equal(err.group, "user");
            assert.equal(err.code, "nope");
            assert.equal(err.message, "not today");
            assert.deepEqual(err.metadata, { reason: "testing", n: 3 });
            return true;
          });
          await assert.rejects(conn.noSuchAction(), (err: any) => err.group === "actor" && err.code === "action_not_found");
          assert.equal(await conn.whoami(), "anon");
        } finally {
          await conn.dispose();
        }
      });

      test("events: conn.on subscribes and broadcasts reach it; after its unsubscribe the listener hears nothing", async () => {
        const handle = client.room.getOrCreate(k("events"));
        const listener = handle.connect({ user: "lis" });
        const talker = handle.connect({ user: "tal" });
        try {
          const got: unknown[][] = [];
          const unsubscribe = listener.on("message", (...args: unknown[]) => got.push(args));
          assert.equal(await listener.whoami(), "lis");
          await talker.say("hi");
          await waitFor(() => got.length === 1, "the broadcast");
          assert.deepEqual(got[0], ["tal", "hi"]);
          const once = nextValue<string>((cb) => listener.once("message", (_u: string, text: string) => cb(text)));
          await talker.say("again");
          assert.equal(await once, "again");
          unsubscribe();
          // An action on the listener after the unsubscribe: its SubscriptionRequest went first.
          await listener.whoami();
          const before = got.length;
          await talker.say("nobody listens");
          await listener.whoami();
          await new Promise((r) => setTimeout(r, 50));
          assert.equal(got.length, before, "no event after the unsubscribe");
        } finally {
          await listener.dispose();
          await talker.dispose();
        }
      });

      test("conn.send reaches only that connection, unsubscribed or not, with bigint args", async () => {
        const handle = client.room.getOrCreate(k("direct"));
        const a = handle.connect({ user: "a" });
        const b = handle.connect({ user: "b" });
        try {
          const toB: unknown[][] = [];
          b.on("private", (...args: unknown[]) => toB.push(args));
          const toA = nextValue<unknown[]>((cb) => a.on("private", (...args: unknown[]) => cb(args)));
          await b.whoami();
          assert.equal(await a.whisper("psst"), true);
          assert.deepEqual(await toA, ["psst", 2n ** 70n]);
          await b.whoami();
          assert.equal(toB.length, 0);
        } finally {
          await a.dispose();
          await b.dispose();
        }
      });

      test("raw /websocket: the actor's onWebSocket sees the path and query; text and binary echo", async () => {
        const handle = client.room.getOrCreate(k("raw"), { params: { user: "raw" } });
        const ws: any = await handle.webSocket("/chat/room?x=1");
        try {
          const frames: unknown[] = [];
          ws.addEventListener("message", (ev: { data: unknown }) => frames.push(ev.data));
          await waitFor(() => frames.length === 1, "the greeting");
          assert.equal(frames[0], "hello /chat/room?x=1");
          ws.send("ping");
          await waitFor(() => frames.length === 2, "the echo");
          assert.equal(frames[1], "echo:ping");
          ws.send(new Uint8Array([1, 2, 3]));
          await waitFor(() => frames.length === 3, "the binary echo");
          assert.deepEqual([...new Uint8Array(frames[2] as ArrayBuffer)], [3, 2, 1]);
        } finally {
          ws.close();
        }
      });

      test("raw /websocket refused by onBeforeConnect closes with `user.banned`", async () => {
        const ws: any = await client.room.getOrCreate(k("raw-refused"), { params: { user: "mallory" } }).webSocket("/x");
        const closed = await nextValue<{ code: number; reason: string }>((cb) => ws.addEventListener("close", cb));
        assert.match(closed.reason, /^user\.banned#/);
      });
    });
  }
});

describe("RivetKit WebSocket upgrades: bad inputs get a clear close reason, Troupe's own stay as they were", () => {
  let h: Awaited<ReturnType<typeof startServer<{ room: typeof room }>>>;
  before(async () => {
    h = await startServer({ use: { room } });
  });
  after(() => h?.close());

  /** Opens a socket and resolves with the protocol chosen, the first frame (if any) and the close. */
  function open(pathAndQuery: string, protocols: string[]) {
    const ws = new WebSocket(`${h.url.replace("http", "ws")}${pathAndQuery}`, protocols);
    const frames: (string | Buffer)[] = [];
    ws.on("message", (data, isBinary) => frames.push(isBinary ? (data as Buffer) : data.toString()));
    return new Promise<{ protocol: string; frames: (string | Buffer)[]; code: number; reason: string }>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("close", (code, reason) => resolve({ protocol: ws.protocol, frames, code, reason: reason.toString() }));
      ws.on("open", () => setTimeout(() => ws.close(1000), 300));
    });
  }

  test("the server picks `rivet` and speaks first with Init (json, by key)", async () => {
    const got = await open("/gateway/room/connect?rvt-method=getOrCreate&rvt-key=plain", ["rivet", "rivet_encoding.json"]);
    assert.equal(got.protocol, "rivet");
    const init = JSON.parse(got.frames[0] as string);
    assert.equal(init.body.tag, "Init");
    assert.equal(typeof init.body.val.actorId, "string");
    assert.equal(typeof init.body.val.connectionId, "string");
    assert.equal(got.code, 1000);
  });

  test("bad addresses, encodings, params and frames close with `group.code#…`", async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ["/gateway/room/connect?rvt-method=create&rvt-key=a", ["rivet"], /^request\.invalid#.*rvt-method/],
      ["/gateway/room/connect?rvt-method=get&rvt-key=a&rvt-namespace=other", ["rivet"], /^namespace\.not_found#/],
      ["/gateway/room/connect?rvt-method=getOrCreate&rvt-key=a", ["rivet", "rivet_encoding.xml"], /^encoding\.invalid#/],
      ["/gateway/room/connect?rvt-method=getOrCreate&rvt-key=a", ["rivet", "rivet_conn_params.%7Bnope"], /^request\.invalid#.*rivet_conn_params/],
      ["/gateway/room/connect?rvt-method=get&rvt-key=nobody", ["rivet"], /^actor\.not_found#/],
      ["/gateway/no-such-id/connect", ["rivet"], /^actor\.not_found#/],
      ["/gateway/no-such-id/websocket/x", ["rivet", "rivet_encoding.bare"], /^actor\.not_found#/],
    ];
    for (const [p, protocols, reason] of cases) {
      const got = await open(p, protocols);
      assert.match(got.reason, reason, p);
      assert.notEqual(got.code, 1000, p);
    }
  });

  test("a connection error arrives as an Error frame with actionId null before the close", async () => {
    const got = await open("/gateway/room/connect?rvt-method=getOrCreate&rvt-key=err-frame", ["rivet", "rivet_encoding.json", `rivet_conn_params.${encodeURIComponent(JSON.stringify({ user: "mallory" }))}`]);
    const frame = JSON.parse(got.frames[0] as string);
    assert.deepEqual(frame.body, { tag: "Error", val: { group: "user", code: "banned", message: "mallory may not", metadata: { who: "mallory" }, actionId: null } });
    assert.equal(got.code, 4403);
    assert.match(got.reason, /^user\.banned#mallory may not/);
  });

  test("SubscriptionRequest: Event frames flow after subscribe and stop after unsubscribe (json frames, bigint ids)", async () => {
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/gateway/room/connect?rvt-method=getOrCreate&rvt-key=frames`, ["rivet", "rivet_encoding.json"]);
    const frames: any[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString()).body));
    await waitFor(() => frames.length === 1, "Init");
    assert.equal(frames[0].tag, "Init");
    const say = (id: number, text: string) => ws.send(JSON.stringify({ body: { tag: "ActionRequest", val: { id: ["$BigInt", String(id)], name: "say", args: [text] } } }));
    const sub = (subscribe: boolean) => ws.send(JSON.stringify({ body: { tag: "SubscriptionRequest", val: { eventName: "message", subscribe } } }));
    sub(true);
    say(0, "one");
    await waitFor(() => frames.some((f) => f.tag === "ActionResponse" && f.val.id[1] === "0"), "the first answer");
    await waitFor(() => frames.some((f) => f.tag === "Event"), "the event");
    assert.deepEqual(frames.find((f) => f.tag === "Event").val, { name: "message", args: ["anon", "one"] });
    sub(false);
    say(1, "two");
    await waitFor(() => frames.some((f) => f.tag === "ActionResponse" && f.val.id[1] === "1"), "the second answer");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(frames.filter((f) => f.tag === "Event").length, 1, "no event after the unsubscribe");
    ws.close();
  });

  test("an undecodable frame closes 1007 with `request.invalid#…`", async () => {
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/gateway/room/connect?rvt-method=getOrCreate&rvt-key=bad-frame`, ["rivet", "rivet_encoding.json"]);
    const closed = new Promise<[number, string]>((resolve) => ws.on("close", (code, reason) => resolve([code, reason.toString()])));
    ws.on("message", () => ws.send('{"body":{"tag":"Nope","val":{}}}'));
    const [code, reason] = await closed;
    assert.equal(code, 1007);
    assert.match(reason, /^request\.invalid#/);
  });

  test("an upgrade on another /gateway path is not routed (404), and foreign origins are refused as for Troupe's", async () => {
    const notOurs = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.url.replace("http", "ws")}/gateway/room/action/x`, ["rivet"]);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => {});
    });
    assert.equal(notOurs, 404);
    const foreign = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.url.replace("http", "ws")}/gateway/room/connect?rvt-method=getOrCreate&rvt-key=o`, ["rivet"], { headers: { origin: "https://evil.example" } });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => {});
    });
    assert.equal(foreign, 403);
  });
});

describe("RivetKit WebSocket upgrades pass Troupe's caps, closed with RivetKit's reasons", () => {
  let h: Awaited<ReturnType<typeof startServer<{ room: typeof room }>>>;
  before(async () => {
    h = await startServer({ use: { room }, limits: { maxWebSocketsPerAddress: 2, maxSubscriptions: 2, maxPendingCalls: 2, maxEarlyFrames: 2, upgradeTimeoutMs: 300 } });
  });
  after(() => h?.close());

  /** A json connection by key, resolved once Init arrived (or it closed); `closed` settles with the close. */
  async function connect(key: string, user?: string) {
    const protocols = ["rivet", "rivet_encoding.json", ...(user ? [`rivet_conn_params.${encodeURIComponent(JSON.stringify({ user }))}`] : [])];
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/gateway/room/connect?rvt-method=getOrCreate&rvt-key=${key}`, protocols);
    const closed = new Promise<[number, string]>((resolve) => ws.on("close", (code, reason) => resolve([code, reason.toString()])));
    const frames: any[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString()).body));
    // A slow admission is awaited only to the open: the test sends before Init.
    if (user === "slow") await new Promise((r) => ws.once("open", r));
    else await waitFor(() => frames.length > 0 || ws.readyState === ws.CLOSED, "Init or a close");
    return { ws, closed, frames };
  }

  test("a third socket from one address closes 1008 with `connection.too_many_connections#…`", async () => {
    const a = await connect("cap");
    const b = await connect("cap");
    const c = await connect("cap");
    const [code, reason] = await c.closed;
    assert.equal(code, 1008);
    assert.match(reason, /^connection\.too_many_connections#/);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
  });

  test("subscriptions and pending calls past their caps close 1008 with their codes", async () => {
    const subs = await connect("subs");
    for (const e of ["a", "b", "c"]) subs.ws.send(JSON.stringify({ body: { tag: "SubscriptionRequest", val: { eventName: e, subscribe: true } } }));
    const [subCode, subReason] = await subs.closed;
    assert.equal(subCode, 1008);
    assert.match(subReason, /^connection\.too_many_subscriptions#/);

    const calls = await connect("calls");
    for (const id of [0, 1, 2]) calls.ws.send(JSON.stringify({ body: { tag: "ActionRequest", val: { id: ["$BigInt", String(id)], name: "slow", args: [300] } } }));
    const [callCode, callReason] = await calls.closed;
    assert.equal(callCode, 1008);
    assert.match(callReason, /^connection\.too_many_pending_calls#/);
  });

  test("frames before Init past the early-frame cap close 1008; an admission past the upgrade deadline closes 1013", async () => {
    const early = await connect("early", "slow");
    for (const id of [0, 1, 2]) early.ws.send(JSON.stringify({ body: { tag: "ActionRequest", val: { id: ["$BigInt", String(id)], name: "whoami", args: [] } } }));
    const [earlyCode, earlyReason] = await early.closed;
    assert.equal(earlyCode, 1008);
    assert.match(earlyReason, /^connection\.too_many_early_frames#/);
    assert.equal(early.frames.length, 0, "no Init before the close");

    const late = await connect("late", "slow");
    const [lateCode, lateReason] = await late.closed;
    assert.equal(lateCode, 1013);
    assert.match(lateReason, /^connection\.upgrade_timed_out#/);
  });
});
