import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Encoder } from "cbor-x";
import { actor, UserError } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { http, startServer } from "./helpers/harness.js";
import { callAction, fetchDecoded, gatewayUrl, putActor } from "./helpers/wire.js";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => {
      c.state.count += by;
      return c.state.count;
    },
    get: (c) => c.state.count,
    fail: () => {
      throw new UserError("nope", { code: "custom_code", metadata: { why: "testing" } });
    },
    crash: (c) => {
      c.state.count = 999;
      throw new Error("secret internal detail");
    },
    slow: async (_c, ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return "done";
    },
    echo: (_c, value: unknown) => value,
  },
  options: { actionTimeoutMs: 300 },
});

const greeter = actor({
  createState: (_c, input: { greeting: string } | undefined) => ({ greeting: input?.greeting ?? "hello" }),
  actions: { greet: (c, name: string) => `${c.state.greeting}, ${name}` },
});

describe("actors over HTTP", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter; greeter: typeof greeter }>>>;
  before(async () => {
    h = await startServer({ use: { counter, greeter }, maxBodyBytes: 64 * 1024 });
  });
  after(() => h.close());

  test("getOrCreate creates on first use and returns the same actor afterwards", async () => {
    const a = h.client.counter.getOrCreate(["room-1"]);
    assert.equal(await a.increment(5), 5);
    assert.equal(await h.client.counter.getOrCreate(["room-1"]).increment(1), 6);
    const id = await a.resolve();
    assert.equal(await h.client.counter.getForId(id).get(), 6);
    assert.equal(await h.client.counter.get("room-1").get(), 6, "a string key equals a one-part array key");
  });

  test("create fails with actor/duplicate_key; get and getForId fail with actor/not_found", async () => {
    const handle = await h.client.counter.create(["unique"]);
    assert.equal(await handle.increment(2), 2);
    await assert.rejects(h.client.counter.create(["unique"]), (e: ActorError) => e.code === "duplicate_key" && e.status === 409);
    await assert.rejects(h.client.counter.get(["missing"]).get(), (e: ActorError) => e.group === "actor" && e.code === "not_found" && e.status === 404);
    await assert.rejects(h.client.counter.getForId("doesnotexist").get(), (e: ActorError) => e.group === "actor" && e.code === "not_found" && e.status === 404);
  });

  test("create passes input to createState", async () => {
    const g = await h.client.greeter.create(["g1"], { input: { greeting: "bonjour" } });
    assert.equal(await g.greet("ada"), "bonjour, ada");
    assert.equal(await h.client.greeter.getOrCreate(["g2"], { createWithInput: { greeting: "hi" } }).greet("bob"), "hi, bob");
  });

  test("distinct keys are distinct actors; concurrent getOrCreate of one key makes one actor", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => h.client.counter.getOrCreate(["race"]).resolve()));
    assert.equal(new Set(ids).size, 1);
    const raw = await Promise.all(Array.from({ length: 10 }, () => putActor(h.url, "counter", ["race2"])));
    assert.deepEqual(raw.map((r) => r.status), Array(10).fill(200));
    assert.equal(new Set(raw.map((r) => r.body.actor.actor_id)).size, 1);
    assert.equal(raw.filter((r) => r.body.created).length, 1, "exactly one request created it");
    assert.notEqual(await h.client.counter.getOrCreate(["race", "x"]).resolve(), ids[0]);
  });

  test("UserError reaches the caller with its code and metadata", async () => {
    const err = await h.client.counter.getOrCreate(["errs"]).fail().catch((e: unknown) => e);
    assert.ok(err instanceof ActorError);
    assert.equal(err.group, "user");
    assert.equal(err.code, "custom_code");
    assert.equal(err.message, "nope");
    assert.deepEqual(err.metadata, { why: "testing" });
    assert.equal(err.status, 400);
  });

  test("other exceptions become internal_error without details, and roll back the action", async () => {
    const handle = h.client.counter.getOrCreate(["internal"]);
    await handle.increment(1);
    const id = await handle.resolve();
    const r = await callAction(h.url, id, "crash");
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { group: "actor", code: "internal_error", message: "An internal error occurred" });
    assert.ok(!r.text.includes("secret"), "no message or stack leaks");
    assert.equal(await handle.get(), 1, "the throwing action's change was rolled back");
  });

  test("bad input table", async () => {
    const id = await h.client.counter.getOrCreate(["bad-input"]).resolve();
    const action = (name: string) => gatewayUrl(h.url, id, `/action/${name}`);

    const unknownName = await putActor(h.url, "nope");
    assert.equal(unknownName.status, 404);
    assert.equal(unknownName.body.code, "actor_name_not_found");

    const unknownAction = await callAction(h.url, id, "nope");
    assert.equal(unknownAction.status, 404);
    assert.equal(unknownAction.body.code, "action_not_found");

    const protoAction = await callAction(h.url, id, "constructor");
    assert.equal(protoAction.status, 404, "prototype members are not actions");

    // A body that does not decode is RivetKit's request/invalid, in the request's encoding.
    const badJson = await fetchDecoded(action("get"), { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    assert.equal(badJson.status, 400);
    assert.deepEqual([badJson.body.group, badJson.body.code], ["request", "invalid"]);

    const badCbor = await fetchDecoded(action("get"), {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-rivet-encoding": "cbor" },
      body: new Uint8Array([0xbf, 0x61]),
    });
    assert.equal(badCbor.status, 400);
    assert.equal(badCbor.headers.get("content-type"), "application/octet-stream", "the error is in the request's encoding");
    assert.deepEqual([badCbor.body.group, badCbor.body.code], ["request", "invalid"]);

    const badUtf8 = await fetchDecoded(action("get"), { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    assert.equal(badUtf8.status, 400);
    assert.deepEqual([badUtf8.body.group, badUtf8.body.code], ["request", "invalid"]);

    // The wrong shape: the body is not an HttpActionRequest object. (A lone `args` value is one
    // argument, as RivetKit's server reads it, so `{args: "x"}` is no longer a wrong shape.)
    const notAnObject = await fetchDecoded(action("get"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(["x"]) });
    assert.equal(notAnObject.status, 400);
    assert.deepEqual([notAnObject.body.group, notAnObject.body.code], ["request", "invalid"]);

    const badEncoding = await callAction(h.url, id, "get", [], { headers: { "x-rivet-encoding": "xml" } });
    assert.equal(badEncoding.status, 400);
    assert.deepEqual([badEncoding.body.group, badEncoding.body.code], ["encoding", "invalid"]);

    const tooBig = await callAction(h.url, id, "echo", ["x".repeat(70 * 1024)]);
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.code, "body_too_large");
    // A streamed body (chunked, no Content-Length, as RivetKit's client may send) is counted while read.
    const streamed = (text: string) =>
      fetchDecoded(action("echo"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream({ start: (ctl) => (ctl.enqueue(new TextEncoder().encode(text)), ctl.close()) }),
        duplex: "half",
      } as RequestInit);
    const streamedBig = await streamed(JSON.stringify({ args: ["x".repeat(70 * 1024)] }));
    assert.deepEqual([streamedBig.status, streamedBig.body.code], [413, "body_too_large"]);
    const streamedSmall = await streamed(JSON.stringify({ args: ["small"] }));
    assert.deepEqual([streamedSmall.status, streamedSmall.body.output], [200, "small"]);

    const wrongType = await http(action("get"), { method: "POST", headers: { "content-type": "application/xml" }, body: JSON.stringify({ args: [] }) });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.body.code, "unsupported_media_type");

    // Keys travel serialized (parts joined by "/"); the rules on the parts are unchanged.
    for (const key of ["x".repeat(300), Array.from({ length: 17 }, () => "a").join("/"), "\ud800"]) {
      const r = await http(`${h.url}/actors`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "counter", key }) });
      assert.equal(r.status, 400, `key ${JSON.stringify(key).slice(0, 40)}`);
      assert.equal(r.body.code, "invalid_key");
    }
    // A key that is not a serialized key at all is a malformed request.
    for (const key of [[1, 2], { a: 1 }, ["a"]]) {
      const r = await http(`${h.url}/actors`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "counter", key }) });
      assert.equal(r.status, 400, `key ${JSON.stringify(key)}`);
      assert.deepEqual([r.body.group, r.body.code], ["request", "invalid"]);
    }

    const timedOut = await callAction(h.url, id, "slow", [2000]);
    assert.equal(timedOut.status, 408);
    assert.equal(timedOut.body.code, "action_timed_out");
    // The actor restarted from its last committed state and still answers.
    assert.equal((await callAction(h.url, id, "get")).body.output, 0);

    const unknownRoute = await http(`${h.url}/nothing/here`);
    assert.equal(unknownRoute.status, 404);
    assert.equal(unknownRoute.body.code, "route_not_found");

    const connectOverHttp = await http(gatewayUrl(h.url, id, "/connect"));
    assert.equal(connectOverHttp.status, 426);
    assert.equal(connectOverHttp.body.code, "upgrade_required");
  });

  test("calls waiting behind a timed-out action run on the restarted actor", async () => {
    const handle = h.client.counter.getOrCreate(["timeout-queue"]);
    await handle.increment(10);
    const [slow, inc] = await Promise.allSettled([handle.slow(2000), handle.increment(1)]);
    assert.equal(slow.status, "rejected");
    assert.equal((slow as PromiseRejectedResult).reason.code, "action_timed_out");
    assert.deepEqual(inc, { status: "fulfilled", value: 11 });
  });

  test("CBOR on request (x-rivet-encoding: cbor), for bodies and responses", async () => {
    const id = await h.client.counter.getOrCreate(["cbor"]).resolve();
    const res = await fetch(gatewayUrl(h.url, id, "/action/echo"), {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-rivet-encoding": "cbor" },
      body: cbor.encode({ args: [new Map([["a", 1]])] }) as Uint8Array as BodyInit,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const out = cbor.decode(new Uint8Array(await res.arrayBuffer())) as { output: Map<string, number> };
    assert.ok(out.output instanceof Map);
    assert.equal(out.output.get("a"), 1);
  });

  test("the CBOR client round-trips rich values", async () => {
    const { createClient } = await import("../src/client/index.js");
    const client = createClient<typeof h.registry>(h.url, { encoding: "cbor" });
    const when = new Date(1_700_000_000_000);
    const out = (await client.counter.getOrCreate(["cbor-client"]).echo({ when, bytes: new Uint8Array([1, 2, 3]) })) as { when: Date; bytes: Uint8Array };
    assert.ok(out.when instanceof Date);
    assert.equal(out.when.getTime(), when.getTime());
    assert.deepEqual([...out.bytes], [1, 2, 3]);
  });
});
