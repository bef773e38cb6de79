import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { actor, UserError } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { startServer, waitFor } from "./helpers/harness.js";
import { callAction, WireConn } from "./helpers/wire.js";

const log: string[] = [];

const room = actor({
  state: { messages: [] as string[] },
  createConnState: (_c, params: { user: string; secret?: string }) => ({ user: params.user }),
  onBeforeConnect: (_c, params: { user: string; secret?: string }) => {
    if (!params || typeof params.user !== "string") throw new UserError("a user is required", { code: "missing_user" });
    if (params.user === "mallory") throw new UserError("you are banned", { code: "banned" });
  },
  onConnect: (c, conn) => {
    log.push(`connect:${conn.state.user}`);
    c.broadcast("joined", conn.state.user);
  },
  onDisconnect: (c, conn) => {
    log.push(`disconnect:${conn.state.user}`);
    c.broadcast("left", conn.state.user);
  },
  actions: {
    say: (c, text: string) => {
      c.state.messages.push(`${c.conn?.state.user ?? "http"}: ${text}`);
      c.broadcast("message", c.conn?.state.user ?? "http", text);
      return c.state.messages.length;
    },
    whisper: (c, text: string) => {
      c.conn?.send("private", text);
      return true;
    },
    members: (c) => [...c.conns.values()].map((x) => x.state.user).sort(),
    kick: (c, user: string) => {
      for (const conn of c.conns.values()) if (conn.state.user === user) conn.disconnect("kicked");
      return true;
    },
  },
});

describe("connections and events over WebSocket", () => {
  let h: Awaited<ReturnType<typeof startServer<{ room: typeof room }>>>;
  before(async () => {
    h = await startServer({ use: { room }, maxBodyBytes: 16 * 1024 });
  });
  after(() => h.close());

  test("actions over a connection, broadcasts to subscribers, direct sends", async () => {
    const a = h.client.room.getOrCreate(["r1"]).connect({ params: { user: "ada" } });
    const b = h.client.room.getOrCreate(["r1"]).connect({ params: { user: "bob" } });
    const gotA: unknown[][] = [];
    const gotB: unknown[][] = [];
    a.on("message", (...args) => gotA.push(args));
    b.on("message", (...args) => gotB.push(args));
    const privateA: string[] = [];
    a.on("private", (t: string) => privateA.push(t));
    await Promise.all([a.ready(), b.ready()]);
    assert.deepEqual(await a.members(), ["ada", "bob"]);
    assert.equal(await a.say("hi"), 1);
    assert.equal(await b.say("yo"), 2);
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 2000, "broadcasts");
    assert.deepEqual(gotA, [["ada", "hi"], ["bob", "yo"]]);
    assert.deepEqual(gotB, gotA);
    await b.whisper("psst");
    assert.equal(await a.whisper("for ada"), true);
    await waitFor(() => privateA.length === 1, 2000, "direct send");
    assert.deepEqual(privateA, ["for ada"], "conn.send reaches only the calling connection");
    // HTTP callers pass onBeforeConnect too: without a user they are refused, with one they are
    // that user for the call (createConnState ran), and reach connected clients through broadcast.
    await assert.rejects(h.client.room.getOrCreate(["r1"]).say("anonymous"), (e: ActorError) => e.code === "missing_user" && e.status === 403);
    await h.client.room.getOrCreate(["r1"], { params: { user: "carol" } }).say("from http");
    await waitFor(() => gotA.length === 3, 2000, "broadcast from an HTTP action");
    assert.deepEqual(gotA[2], ["carol", "from http"]);
    await a.dispose();
    await b.dispose();
    await waitFor(() => log.includes("disconnect:ada") && log.includes("disconnect:bob"), 2000, "onDisconnect");
  });

  test("an event is delivered before the reply of the action that emitted it", async () => {
    const a = h.client.room.getOrCreate(["order"]).connect({ params: { user: "ada" } });
    const seen: string[] = [];
    a.on("message", () => seen.push("event"));
    await a.ready();
    await a.say("x").then(() => seen.push("reply"));
    assert.deepEqual(seen, ["event", "reply"]);
    await a.dispose();
  });

  test("onBeforeConnect refuses with a clear reason", async () => {
    const conn = h.client.room.getOrCreate(["r2"]).connect({ params: { user: "mallory" } });
    const errors: Error[] = [];
    conn.onError((e) => errors.push(e));
    const closed = new Promise<{ code: number; reason: string }>((r) => conn.onClose(r));
    await assert.rejects(conn.ready(), (e: ActorError) => e.code === "banned" && e.message === "you are banned");
    const info = await closed;
    assert.equal(info.code, 4403);
    assert.match(info.reason, /^user\.banned#you are banned/);
    assert.equal(errors.length, 1);
    await assert.rejects(conn.say("hi"), (e: ActorError) => e.code === "banned");
  });

  test("the actor can disconnect a connection", async () => {
    const a = h.client.room.getOrCreate(["r3"]).connect({ params: { user: "ada" } });
    const b = h.client.room.getOrCreate(["r3"]).connect({ params: { user: "bob" } });
    await Promise.all([a.ready(), b.ready()]);
    const closed = new Promise<{ code: number; reason: string }>((r) => b.onClose(r));
    await a.kick("bob");
    assert.deepEqual(await closed, { code: 1000, reason: "kicked" });
    await waitFor(async () => (await a.members()).length === 1, 2000, "member removed");
    await a.dispose();
  });

  test("a malformed frame closes only that connection, with a reason", async () => {
    const good = h.client.room.getOrCreate(["r4"]).connect({ params: { user: "ada" } });
    await good.ready();
    const actorId = await h.client.room.getOrCreate(["r4"]).resolve();
    const frames = [
      "{not json",
      JSON.stringify({ body: { tag: "Bogus", val: {} } }),
      JSON.stringify({ body: { tag: "ActionRequest", val: { id: -1, name: "say", args: [] } } }),
      "x".repeat(20 * 1024),
    ];
    for (const frame of frames) {
      const raw = new WireConn(h.url, actorId, { params: { user: "raw" } });
      await new Promise((r) => raw.ws.once("open", r));
      raw.ws.send(frame);
      const info = await raw.closed;
      assert.ok([1007, 1009].includes(info.code), `close code ${info.code} for ${frame.slice(0, 20)}`);
      if (info.code === 1007) assert.match(info.reason, /^request\.invalid#/);
    }
    assert.equal(await good.say("still here"), 1, "other connections are unaffected");
    await good.dispose();
  });

  test("params travel in the subprotocol, never in the URL; an unknown actor id is refused", async () => {
    const conn = new WireConn(h.url, "nosuchactor");
    const info = await conn.closed;
    assert.equal(info.code, 4404);
    assert.match(info.reason, /^actor\.not_found#/);
    const refusal = await conn.next((f) => f.tag === "Error");
    assert.deepEqual([refusal.val.group, refusal.val.code, refusal.val.actionId], ["actor", "not_found", null], "a connection error, not an action's");
  });

  test("a connection that does not offer the `rivet` subprotocol is refused before the upgrade", async () => {
    const id = (await h.client.room.getOrCreate(["no-rivet"]).resolve()) as string;
    for (const protocols of [[], ["troupe"], ["rivet_encoding.json"]]) {
      const conn = new WireConn(h.url, id, { protocols });
      const info = await conn.closed;
      assert.equal(info.code, 1006, `${JSON.stringify(protocols)}: the handshake fails`);
      assert.equal(conn.frames.length, 0, `${JSON.stringify(protocols)}: no frame, not even Init`);
    }
    // The refusal is an HTTP answer in the error shape.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(`${h.url}/gateway/${id}/connect`, { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("upgrade", () => reject(new Error("upgraded without the rivet subprotocol")));
      req.on("error", reject);
    });
    assert.equal(answer.status, 400);
    const body = JSON.parse(answer.body) as { group: string; code: string };
    assert.deepEqual([body.group, body.code], ["request", "invalid"]);
  });

  test("unknown action over a connection is an error reply, not a disconnect", async () => {
    const a = h.client.room.getOrCreate(["r5"]).connect({ params: { user: "ada" } });
    await a.ready();
    await assert.rejects((a as unknown as { nope(): Promise<unknown> }).nope(), (e: ActorError) => e.code === "action_not_found");
    assert.equal(await a.say("ok"), 1);
    await a.dispose();
  });
});

describe("outputs the wire cannot carry", () => {
  const odd = actor({
    state: {},
    actions: {
      cyclic: () => {
        const a: Record<string, unknown> = {};
        a.self = a;
        return a;
      },
      // A class instance: RivetKit's value conventions carry plain values, bigints, bytes, Sets, Maps and Dates only.
      instance: () => new (class Point {
        x = 1;
      })(),
      big: () => 10n,
      fine: () => "ok",
    },
  });
  test("a reply that cannot be encoded becomes internal_error; the connection and the server stay up", async () => {
    const h = await startServer({ use: { odd } });
    try {
      const conn = h.client.odd.getOrCreate(["x"]).connect();
      await assert.rejects((conn as any).cyclic(), (e: ActorError) => e.code === "internal_error");
      await assert.rejects((conn as any).instance(), (e: ActorError) => e.code === "internal_error");
      // A bigint is no longer such an output: it travels as ["$BigInt", "10"].
      assert.equal(await (conn as any).big(), 10n);
      assert.equal(await (conn as any).fine(), "ok");
      await conn.dispose();
      const id = await h.client.odd.getOrCreate(["x"]).resolve();
      for (const name of ["cyclic", "instance"]) {
        const http = await callAction(h.url, id, name);
        assert.equal(http.status, 500, name);
        assert.equal(http.body.code, "internal_error", name);
      }
    } finally {
      await h.close();
    }
  });
});
