import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Encoder } from "cbor-x";
import { actor, UserError } from "../src/index.js";
import { ActorError } from "../src/client/index.js";
import { http, post, startServer } from "./helpers/harness.js";

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

  test("create fails with actor_already_exists; get and getForId fail with actor_not_found", async () => {
    const handle = await h.client.counter.create(["unique"]);
    assert.equal(await handle.increment(2), 2);
    await assert.rejects(h.client.counter.create(["unique"]), (e: ActorError) => e.code === "actor_already_exists" && e.status === 409);
    await assert.rejects(h.client.counter.get(["missing"]).get(), (e: ActorError) => e.code === "actor_not_found" && e.status === 404);
    await assert.rejects(h.client.counter.getForId("doesnotexist").get(), (e: ActorError) => e.code === "actor_not_found" && e.status === 404);
  });

  test("create passes input to createState", async () => {
    const g = await h.client.greeter.create(["g1"], { input: { greeting: "bonjour" } });
    assert.equal(await g.greet("ada"), "bonjour, ada");
    assert.equal(await h.client.greeter.getOrCreate(["g2"], { createWithInput: { greeting: "hi" } }).greet("bob"), "hi, bob");
  });

  test("distinct keys are distinct actors; concurrent getOrCreate of one key makes one actor", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => h.client.counter.getOrCreate(["race"]).resolve()));
    assert.equal(new Set(ids).size, 1);
    const raw = await Promise.all(
      Array.from({ length: 10 }, () => http(`${h.url}/actors`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "counter", key: ["race2"] }) })),
    );
    assert.equal(new Set(raw.map((r) => r.body.actor.actorId)).size, 1);
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
    const r = await post(`${h.url}/actors/${id}/action/crash`, { args: [] });
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { group: "actor", code: "internal_error", message: "Internal error" });
    assert.ok(!r.text.includes("secret"), "no message or stack leaks");
    assert.equal(await handle.get(), 1, "the throwing action's change was rolled back");
  });

  test("bad input table", async () => {
    const id = await h.client.counter.getOrCreate(["bad-input"]).resolve();
    const action = `${h.url}/actors/${id}/action`;

    const unknownName = await http(`${h.url}/actors`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "nope", key: [] }) });
    assert.equal(unknownName.status, 404);
    assert.equal(unknownName.body.code, "actor_name_not_found");

    const unknownAction = await post(`${action}/nope`, { args: [] });
    assert.equal(unknownAction.status, 404);
    assert.equal(unknownAction.body.code, "action_not_found");

    const protoAction = await post(`${action}/constructor`, { args: [] });
    assert.equal(protoAction.status, 404, "prototype members are not actions");

    const badJson = await http(`${action}/get`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.code, "malformed_body");

    const badCbor = await http(`${action}/get`, { method: "POST", headers: { "content-type": "application/cbor" }, body: new Uint8Array([0xbf, 0x61]) });
    assert.equal(badCbor.status, 400);
    assert.equal(badCbor.body.code, "malformed_body");

    const badUtf8 = await http(`${action}/get`, { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    assert.equal(badUtf8.status, 400);
    assert.equal(badUtf8.body.code, "malformed_body");

    const argsNotArray = await post(`${action}/get`, { args: "x" });
    assert.equal(argsNotArray.status, 400);
    assert.equal(argsNotArray.body.code, "invalid_request");

    const tooBig = await post(`${action}/echo`, { args: ["x".repeat(70 * 1024)] });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.code, "body_too_large");

    const wrongType = await http(`${action}/get`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<a/>" });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.body.code, "unsupported_media_type");

    for (const key of [[1, 2], "x".repeat(300), Array.from({ length: 17 }, () => "a"), { a: 1 }, ["\ud800"]]) {
      const r = await http(`${h.url}/actors`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "counter", key }) });
      assert.equal(r.status, 400, `key ${JSON.stringify(key).slice(0, 40)}`);
      assert.equal(r.body.code, "invalid_key");
    }

    const timedOut = await post(`${action}/slow`, { args: [2000] });
    assert.equal(timedOut.status, 408);
    assert.equal(timedOut.body.code, "action_timed_out");
    // The actor restarted from its last committed state and still answers.
    assert.equal((await post(`${action}/get`, { args: [] })).body.output, 0);

    const unknownRoute = await http(`${h.url}/nothing/here`);
    assert.equal(unknownRoute.status, 404);
    assert.equal(unknownRoute.body.code, "route_not_found");

    const connectOverHttp = await http(`${h.url}/actors/${id}/connect`);
    assert.equal(connectOverHttp.status, 426);
  });

  test("calls waiting behind a timed-out action run on the restarted actor", async () => {
    const handle = h.client.counter.getOrCreate(["timeout-queue"]);
    await handle.increment(10);
    const [slow, inc] = await Promise.allSettled([handle.slow(2000), handle.increment(1)]);
    assert.equal(slow.status, "rejected");
    assert.equal((slow as PromiseRejectedResult).reason.code, "action_timed_out");
    assert.deepEqual(inc, { status: "fulfilled", value: 11 });
  });

  test("CBOR on request, for bodies and responses", async () => {
    const id = await h.client.counter.getOrCreate(["cbor"]).resolve();
    const res = await fetch(`${h.url}/actors/${id}/action/echo`, {
      method: "POST",
      headers: { "content-type": "application/cbor", accept: "application/cbor" },
      body: cbor.encode({ args: [new Map([["a", 1]])] }) as Uint8Array as BodyInit,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/cbor");
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
