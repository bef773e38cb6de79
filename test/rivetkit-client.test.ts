import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { actor, UserError } from "../src/index.js";
import { deserializeActorKey, parseGatewayKey, serializeActorKey } from "../src/client/protocol/keys.js";
import { startServer } from "./helpers/harness.js";
import { rivetkitMissing } from "./helpers/rivetkit-client.js";

// The real rivetkit 2.3.19 client (bench/peer), over real HTTP, against a Troupe server, in its
// three encodings: RivetKit's client protocol, HTTP half (docs/PROTOCOL.md). The WebSocket half
// (`.connect()`, events, raw `/websocket`) is test/rivetkit-client-ws.test.ts.

const missing = rivetkitMissing();
const PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bench/peer/node_modules/rivetkit/dist/tsup");

const hookParams: unknown[] = [];

const counter = actor({
  createState: (_c, input: { start?: number; big?: bigint } | undefined) => ({ count: input?.start ?? 0, big: String(input?.big ?? 0n) }),
  onBeforeConnect: (_c, params: { user?: string } | undefined) => {
    hookParams.push(params);
    if (params?.user === "mallory") throw new UserError("mallory may not", { code: "banned", metadata: { who: "mallory" } });
  },
  queues: {
    jobs: (c, body: { add: number }) => {
      c.state.count += body.add;
      return c.state.count;
    },
    slow: async () => new Promise((r) => setTimeout(r, 400)),
  },
  onRequest: async (_c, req) => {
    const url = new URL(req.url);
    const body = req.method === "POST" ? await req.text() : "";
    return new Response(JSON.stringify({ path: url.pathname, q: url.searchParams.get("q"), method: req.method, body, params: req.headers.get("x-rivet-conn-params") }), {
      headers: { "content-type": "application/json" },
    });
  },
  actions: {
    increment: (c, by: number) => (c.state.count += by),
    get: (c) => c.state.count,
    big: (c) => BigInt(c.state.big),
    echo: (_c, value: unknown) => value,
    whoami: (c) => (c.conn?.params as { user?: string } | undefined)?.user ?? null,
    fail: () => {
      throw new UserError("not today", { code: "nope", metadata: { reason: "testing", n: 3 } });
    },
    destroy: (c) => c.destroy(),
  },
});

describe("RivetKit key serialization", () => {
  const samples: string[][] = [[], ["a"], ["a", "b"], [""], ["", ""], ["a/b"], ["back\\slash"], ["\\0"], ["/"], ["a", "", "c"], ["ünï", "😀"]];
  test("round-trips every sample and matches the documented forms", () => {
    for (const key of samples) assert.deepEqual(deserializeActorKey(serializeActorKey(key)), key, JSON.stringify(key));
    assert.equal(serializeActorKey([]), "/");
    assert.equal(serializeActorKey(["a", "b"]), "a/b");
    assert.equal(serializeActorKey(["a/b"]), "a\\/b");
    assert.equal(serializeActorKey([""]), "\\0");
    assert.equal(serializeActorKey(["x\\y"]), "x\\\\y");
  });
  test("reads like rivetkit's reader, quirks included", () => {
    assert.deepEqual(deserializeActorKey(undefined), []);
    assert.deepEqual(deserializeActorKey("a/"), ["a", ""]);
    assert.deepEqual(deserializeActorKey("a\\"), ["a\\"]);
  });
  test("rvt-key: comma-joined, absent is the empty key", () => {
    assert.deepEqual(parseGatewayKey(null), []);
    assert.deepEqual(parseGatewayKey(""), [""]);
    assert.deepEqual(parseGatewayKey("a,b"), ["a", "b"]);
  });
  test("agrees with rivetkit's own serializer", { skip: missing }, async () => {
    const fs = await import("node:fs");
    const chunk = fs.readdirSync(PEER).find((f) => /^chunk-.*\.js$/.test(f) && /function serializeActorKey\(/.test(fs.readFileSync(path.join(PEER, f), "utf8")));
    assert.ok(chunk, "rivetkit has a chunk with serializeActorKey");
    const src = fs.readFileSync(path.join(PEER, chunk), "utf8");
    const names = src.slice(src.lastIndexOf("\nexport {"));
    const alias = (local: string) => new RegExp(`\\b${local} as (\\w+)`).exec(names)?.[1] ?? local;
    const mod = (await import(pathToFileURL(path.join(PEER, chunk)).href)) as Record<string, (v: unknown) => unknown>;
    const ser = mod[alias("serializeActorKey")]!;
    const de = mod[alias("deserializeActorKey")]!;
    for (const key of samples) {
      assert.equal(serializeActorKey(key), ser(key), JSON.stringify(key));
      assert.deepEqual(deserializeActorKey(serializeActorKey(key)), de(ser(key)));
    }
    for (const text of ["a/", "a\\", "\\0x/y", "//"]) assert.deepEqual(deserializeActorKey(text), de(text), text);
  });
});

describe("the real rivetkit 2.3.19 client against Troupe (HTTP)", { skip: missing }, () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  let createClient: (opts: Record<string, unknown>) => any;

  before(async () => {
    process.env.RIVET_LOG_LEVEL ??= "silent";
    h = await startServer({ use: { counter } });
    ({ createClient } = (await import(pathToFileURL(path.join(PEER, "client/mod.js")).href)) as { createClient: typeof createClient });
  });
  after(() => h?.close());

  test("the metadata lookup is answered (no disableMetadataLookup), and Troupe's own /metadata keeps its shape", async () => {
    const client = createClient({ endpoint: h.url, encoding: "json" });
    assert.equal(await client.counter.getOrCreate(["meta"]).increment(1), 1);
    const rivet = await (await fetch(`${h.url}/metadata?namespace=default`)).json();
    assert.equal(rivet.runtime, "troupe");
    assert.deepEqual(rivet, { runtime: "troupe" });
    const own = await (await fetch(`${h.url}/metadata`)).json();
    assert.equal(typeof own.protocolVersion, "number", "Troupe's own /metadata answers as before");
  });

  for (const encoding of ["json", "cbor", "bare"] as const) {
    describe(`encoding ${encoding}`, () => {
      let client: any;
      const k = (s: string) => [`${encoding}-${s}`, "part/two"];
      before(() => {
        client = createClient({ endpoint: h.url, encoding, disableMetadataLookup: true });
      });

      test("getOrCreate with a key and input, then actions; bigints survive as arguments and outputs", async () => {
        const handle = client.counter.getOrCreate(k("goc"), { createWithInput: { start: 10 } });
        assert.equal(await handle.increment(5), 15);
        assert.equal(await handle.get(), 15);
        assert.equal(await handle.big(), 0n);
        assert.equal(await handle.echo(2n ** 70n), 2n ** 70n);
        const viaPut = client.counter.getOrCreate(k("goc-put"), { createWithInput: { start: 4 } });
        assert.equal(typeof (await viaPut.resolve()), "string", "resolve() goes through PUT /actors with base64 CBOR input");
        assert.equal(await viaPut.get(), 4);
        const value = { bytes: new Uint8Array([1, 2, 255]), tag: ["$x", 1], n: -3n };
        assert.deepEqual(await handle.echo(value), value);
      });

      test("mismatch: input holding a bigint is refused (Troupe stores input under the state rules), where RivetKit keeps it", async () => {
        // Troupe stores an actor's input durably with its record, and state refuses bigints.
        await assert.rejects(client.counter.getOrCreate(k("date"), { createWithInput: { start: 1, big: 2n ** 70n } }).get(), (err: any) => err.group === "actor" && err.code === "invalid_state");
      });

      test("get finds the same actor; resolve and getForId agree", async () => {
        await client.counter.getOrCreate(k("same")).increment(2);
        const byKey = client.counter.get(k("same"));
        assert.equal(await byKey.get(), 2);
        const id = await byKey.resolve();
        assert.equal(typeof id, "string");
        assert.equal(await client.counter.getForId(id).increment(1), 3);
        assert.equal(await client.counter.getOrCreate(k("same")).resolve(), id);
      });

      test("create makes a new actor with input; a second create of the key fails", async () => {
        const handle = await client.counter.create(k("created"), { input: { start: 7 } });
        assert.equal(await handle.get(), 7);
        await assert.rejects(client.counter.create(k("created")), (err: any) => err.group === "actor" && err.code === "duplicate_key");
      });

      test("a UserError arrives as group user with its code and metadata", async () => {
        await assert.rejects(client.counter.getOrCreate(k("err")).fail(), (err: any) => {
          assert.equal(err.group, "user");
          assert.equal(err.code, "nope");
          assert.equal(err.message, "not today");
          assert.deepEqual(err.metadata, { reason: "testing", n: 3 });
          return true;
        });
      });

      test("stateless calls carry params to onBeforeConnect and c.conn.params; a refusal keeps its code", async () => {
        hookParams.length = 0;
        const alice = client.counter.getOrCreate(k("params"), { params: { user: "alice" } });
        assert.equal(await alice.whoami(), "alice");
        assert.deepEqual(hookParams.at(-1), { user: "alice" });
        const mallory = client.counter.getOrCreate(k("params"), { params: { user: "mallory" } });
        await assert.rejects(mallory.get(), (err: any) => err.group === "user" && err.code === "banned" && err.metadata?.who === "mallory");
      });

      test("queue sends: without wait, with wait (the handler's answer), and a wait that times out", async () => {
        const handle = client.counter.getOrCreate(k("queue"));
        const plain = await handle.send("jobs", { add: 2 });
        assert.equal(plain?.status ?? "completed", "completed");
        const waited = await handle.send("jobs", { add: 3 }, { wait: true });
        assert.deepEqual(waited, { status: "completed", response: 5 });
        const timedOut = await handle.send("slow", null, { wait: true, timeout: 50 });
        assert.equal(timedOut.status, "timedOut");
        assert.equal(timedOut.response, undefined);
      });

      test("raw /request reaches onRequest with the path, query, body and params", async () => {
        const handle = client.counter.getOrCreate(k("raw"), { params: { user: "alice" } });
        const res: Response = await handle.fetch("/hello/world?q=1", { method: "POST", body: "payload" });
        assert.equal(res.status, 200);
        const seen = await res.json();
        assert.equal(seen.path, "/hello/world");
        assert.equal(seen.q, "1");
        assert.equal(seen.body, "payload");
        assert.deepEqual(JSON.parse(seen.params), { user: "alice" });
      });

      test("actor not found: get of an unknown key and getForId of an unknown id", async () => {
        await assert.rejects(client.counter.get(k("nobody")).get(), (err: any) => err.group === "actor" && err.code === "not_found");
        await assert.rejects(client.counter.getForId("no-such-id").get(), (err: any) => err.group === "actor" && err.code === "not_found");
      });

      test("destroy: the action named destroy removes the actor; the key is then free", async () => {
        const handle = client.counter.getOrCreate(k("doomed"));
        await handle.increment(4);
        const id = await handle.resolve();
        await handle.destroy();
        await assert.rejects(client.counter.getForId(id).get(), (err: any) => err.group === "actor" && err.code === "not_found");
        assert.equal(await client.counter.getOrCreate(k("doomed")).get(), 0);
      });
    });
  }
});

describe("the protocol's routes refuse what they cannot honour", () => {
  let h: Awaited<ReturnType<typeof startServer<{ counter: typeof counter }>>>;
  before(async () => {
    h = await startServer({ use: { counter } });
  });
  after(() => h?.close());
  const body = (b: unknown) => ({ method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });

  test("bad inputs get a 4xx with RivetKit's group and code", async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ["/actors?namespace=other", body({ name: "counter", key: "a", crash_policy: "sleep", runner_name_selector: "default" }), 400, "namespace/not_found"],
      ["/actors?namespace=default", body({ name: "counter", key: "a", crash_policy: "restart" }), 400, "request/invalid"],
      ["/actors?namespace=default", body({ name: "counter", key: "a", input: "not base64!" }), 400, "request/invalid"],
      ["/actors?namespace=default", body({ key: "a" }), 400, "request/invalid"],
      ["/actors?namespace=default", {}, 400, "request/invalid"],
      ["/gateway/counter/action/get?rvt-method=create&rvt-key=a", { method: "POST" }, 400, "request/invalid"],
      ["/gateway/counter/action/get?rvt-method=get&rvt-key=a&rvt-namespace=other", { method: "POST" }, 400, "namespace/not_found"],
      // The gateway's own parameters: none it does not know, none twice; by id as by key.
      ["/gateway/counter/action/get?rvt-method=get&rvt-key=a&rvt-keys=b", { method: "POST" }, 400, "request/invalid"],
      ["/gateway/counter/action/get?rvt-method=get&rvt-key=a&rvt-key=b", { method: "POST" }, 400, "request/invalid"],
      ["/gateway/some-id/action/get?rvt-token=t&rvt-token=u", { method: "POST" }, 400, "request/invalid"],
      ["/gateway/counter/action/get?rvt-method=getOrCreate&rvt-key=a", { method: "POST", headers: { "x-rivet-encoding": "xml" }, body: "{}" }, 400, "encoding/invalid"],
      ["/gateway/counter/action/get?rvt-method=getOrCreate&rvt-key=a", { method: "POST", headers: { "x-rivet-encoding": "json", "content-type": "application/json" }, body: "[" }, 400, "request/invalid"],
      // What a page on another site may send without a preflight never reaches an action.
      ["/gateway/counter/action/get?rvt-method=getOrCreate&rvt-key=a", { method: "POST", headers: { "content-type": "text/plain" }, body: '{"args":[]}' }, 415, "request/unsupported_media_type"],
      ["/gateway/counter/action/get?rvt-method=getOrCreate&rvt-key=a", { method: "GET" }, 405, "request/method_not_allowed"],
      ["/gateway/counter/connect?rvt-method=getOrCreate&rvt-key=a", { method: "GET" }, 426, "request/upgrade_required"],
      ["/gateway/no-such-id/action/get", { method: "POST", headers: { "x-rivet-encoding": "json", "content-type": "application/json" }, body: '{"args":[]}' }, 404, "actor/not_found"],
      ["/actors/no-such-id?namespace=default", { method: "DELETE" }, 404, "actor/not_found"],
    ];
    for (const [p, init, status, code] of cases) {
      const res = await fetch(`${h.url}${p}`, init);
      const got = (await res.json()) as { group: string; code: string };
      assert.equal(res.status, status, p);
      assert.equal(`${got.group}/${got.code}`, code, p);
    }
  });

  test("/actors answers in the engine's shape with or without `namespace`; the retired routes are gone", async () => {
    const res = await fetch(`${h.url}/actors`, body({ name: "counter", key: "own" }));
    const got = (await res.json()) as { actor: { actor_id: string; key: string }; created: boolean };
    assert.equal(res.status, 200);
    assert.equal(got.actor.key, "own");
    assert.equal(got.created, true);
    const id = got.actor.actor_id;
    const byId = await (await fetch(`${h.url}/actors?namespace=default&actor_ids=${id}`)).json();
    assert.deepEqual(byId.actors.map((a: { actor_id: string; key: string }) => [a.actor_id, a.key]), [[id, "own"]]);
    const listed = await (await fetch(`${h.url}/actors?name=counter`)).json();
    assert.ok(listed.actors.some((a: { actor_id: string }) => a.actor_id === id));
    // Troupe's own routes before issue 13: one protocol now, so they are not routes at all.
    for (const [method, p] of [["POST", `/actors/${id}/action/get`], ["POST", `/actors/${id}/queue/jobs`], ["GET", `/actors/${id}`], ["GET", `/actors/${id}/request/x`]]) {
      const r = await fetch(`${h.url}${p}`, { method, headers: { "content-type": "application/json" }, body: method === "POST" ? '{"args":[]}' : undefined });
      assert.equal(r.status, 404, `${method} ${p}`);
      assert.equal(((await r.json()) as { code: string }).code, "route_not_found", `${method} ${p}`);
    }
    const gone = await fetch(`${h.url}/actors/${id}`, { method: "DELETE" });
    assert.deepEqual(await gone.json(), {});
    assert.deepEqual((await (await fetch(`${h.url}/actors?actor_ids=${id}`)).json()).actors, []);
  });
});
