import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { actor, UserError } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { startServer, waitFor } from "./helpers/harness.js";

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
    assert.match(info.reason, /^banned: you are banned/);
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
    const wsUrl = `${h.url.replace("http", "ws")}/actors/${actorId}/connect`;
    const params = Buffer.from(JSON.stringify({ user: "raw" })).toString("base64url");
    for (const frame of ["{not json", JSON.stringify({ t: "bogus" }), JSON.stringify({ t: "action", id: -1, name: "say" }), "x".repeat(20 * 1024)]) {
      const ws = new WebSocket(wsUrl, ["troupe", `troupe.params.${params}`]);
      await new Promise((r) => ws.once("open", r));
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
      ws.send(frame);
      const info = await closed;
      assert.ok([1007, 1009].includes(info.code), `close code ${info.code} for ${frame.slice(0, 20)}`);
      if (info.code === 1007) assert.match(info.reason, /^malformed_message/);
    }
    assert.equal(await good.say("still here"), 1, "other connections are unaffected");
    await good.dispose();
  });

  test("params travel in the subprotocol, never in the URL; an unknown actor id is refused", async () => {
    const ws = new WebSocket(`${h.url.replace("http", "ws")}/actors/nosuchactor/connect`, ["troupe"]);
    const info = await new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    assert.equal(info.code, 4404);
    assert.match(info.reason, /^actor_not_found/);
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
      big: () => 10n,
      fine: () => "ok",
    },
  });
  test("a reply that cannot be encoded becomes internal_error; the connection and the server stay up", async () => {
    const h = await startServer({ use: { odd } });
    try {
      const conn = h.client.odd.getOrCreate(["x"]).connect();
      await assert.rejects((conn as any).cyclic(), (e: ActorError) => e.code === "internal_error");
      await assert.rejects((conn as any).big(), (e: ActorError) => e.code === "internal_error");
      assert.equal(await (conn as any).fine(), "ok");
      await conn.dispose();
      const http = await fetch(`${h.url}/actors/${await h.client.odd.getOrCreate(["x"]).resolve()}/action/cyclic`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      assert.equal(http.status, 500);
      assert.equal(((await http.json()) as { code: string }).code, "internal_error");
    } finally {
      await h.close();
    }
  });
});
