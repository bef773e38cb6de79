import assert from "node:assert/strict";
import fs from "node:fs";
import { before, describe, test } from "node:test";
import { encode as cborEncode } from "cbor-x";
import fc from "fast-check";
import { TroupeError } from "../src/common/errors.js";
import * as codec from "../src/protocol/rivet/codec.js";
import type { Encoding, MessageCodec } from "../src/protocol/rivet/codec.js";
import * as v1 from "../src/protocol/rivet/generated/v1.js";
import * as v3 from "../src/protocol/rivet/generated/v3.js";
import * as json from "../src/client/protocol/json-compat.js";
import type * as m from "../src/protocol/rivet/messages.js";
import { CURRENT_VERSION, embedVersion, splitVersion } from "../src/protocol/rivet/versioned.js";
import { fakeDriver, loadRivetkit, rivetkitMissing, waitFor, type CapturedRequest, type RivetkitSerde } from "./helpers/rivetkit-client.js";

// RivetKit's client protocol codecs (src/protocol/rivet): every message in json, cbor and bare,
// then the same messages through the real rivetkit 2.3.19 client (bench/peer) in both directions.

/** Values that exercise every convention: u64 beyond a double, bytes, `$` strings and tag look-alikes. */
const tricky = {
  big: 2n ** 63n + 5n,
  neg: -7n,
  bytes: new Uint8Array([0, 1, 2, 250, 255]),
  dollars: ["$x", 1],
  fakeTag: ["$BigInt", "12"],
  nested: { $key: [["$$y", { deep: ["$z", -3n] }]], plain: "$not-a-tag" },
  float: 1.5,
  nil: null,
  list: [1, "two", [3, true]],
};
const args = [1, "two", tricky, 99n, new Uint8Array([9, 8])];

type Case<T> = { name: string; codec: MessageCodec<T>; samples: T[] };
const cases: Case<any>[] = [
  { name: "httpActionRequest", codec: codec.httpActionRequest, samples: [{ args }, { args: ["$a", 1] }, { args: [] }] },
  { name: "httpActionResponse", codec: codec.httpActionResponse, samples: [{ output: tricky }, { output: ["$a", 1] }, { output: undefined }, { output: null }] },
  {
    name: "httpQueueSendRequest",
    codec: codec.httpQueueSendRequest,
    samples: [{ body: tricky, name: "jobs", wait: true, timeout: 1500 }, { body: "x", name: "jobs", wait: false }],
  },
  { name: "httpQueueSendResponse", codec: codec.httpQueueSendResponse, samples: [{ status: "completed", response: tricky }, { status: "timedOut" }] },
  {
    name: "httpResponseError",
    codec: codec.httpResponseError,
    samples: [
      { group: "user", code: "out_of_stock", message: "none left", metadata: tricky },
      { group: "actor", code: "not_found", message: "gone", actor: { actorId: "a1", generation: 3, key: "k/1" } },
      { group: "request", code: "invalid", message: "bad" },
      { group: "user", code: "nulled", message: "null metadata is kept", metadata: null },
    ],
  },
  {
    name: "toServer",
    codec: codec.toServer,
    samples: [
      { tag: "ActionRequest", val: { id: 0n, name: "echo", args } },
      { tag: "ActionRequest", val: { id: 2n ** 64n - 1n, name: "none", args: [] } },
      { tag: "SubscriptionRequest", val: { eventName: "news", subscribe: false } },
    ],
  },
  {
    name: "toClient",
    codec: codec.toClient,
    samples: [
      { tag: "Init", val: { actorId: "a1", connectionId: "c1" } },
      { tag: "Error", val: { group: "user", code: "bad", message: "no", metadata: tricky, actionId: 7n } },
      { tag: "Error", val: { group: "actor", code: "stopping", message: "later", actionId: null, actor: { actorId: "a1", generation: 0 } } },
      { tag: "ActionResponse", val: { id: 2n ** 53n + 1n, output: tricky } },
      { tag: "Event", val: { name: "news", args: [tricky, ["$a", 1]] } },
    ],
  },
];

const asText = (wire: string | Uint8Array) => (typeof wire === "string" ? wire : new TextDecoder().decode(wire));
const invalid = (err: unknown) => err instanceof TroupeError && err.group === "request" && err.code === "invalid" && err.status === 400;

describe("round trips", () => {
  for (const c of cases) {
    for (const encoding of codec.ENCODINGS) {
      test(`${c.name} in ${encoding}`, () => {
        for (const sample of c.samples) {
          const wire = c.codec.encode(encoding, sample);
          assert.equal(typeof wire, encoding === "json" ? "string" : "object");
          assert.deepStrictEqual(c.codec.decode(encoding, wire), sample);
          // Servers and clients may hand json over as bytes too.
          if (encoding === "json") assert.deepStrictEqual(c.codec.decode(encoding, new TextEncoder().encode(wire as string)), sample);
        }
      });
    }
  }
});

test("generated/ is what `npm run gen:protocol` makes of schemas/ today", async () => {
  const script = "../scripts/gen-rivet-protocol.mjs"; // a variable: the typecheck does not follow .mjs
  const gen = (await import(script)) as { schemaFiles(): string[]; generate(p: string): string; outPath(p: string): string };
  const schemas = gen.schemaFiles();
  assert.deepEqual(schemas.map((p) => p.split("/").at(-1)), ["v1.bare", "v2.bare", "v3.bare", "v4.bare"]);
  for (const schema of schemas) assert.equal(fs.readFileSync(gen.outPath(schema), "utf8"), gen.generate(schema), schema);
});

describe("on the wire", () => {
  test("json: bigint ids and escaped user arrays, as the client reads them", () => {
    const frame = codec.toClient.encode("json", { tag: "ActionResponse", val: { id: 7n, output: { a: ["$x", 1], b: 2n, c: new Uint8Array([1, 2]) } } });
    assert.equal(frame, '{"body":{"tag":"ActionResponse","val":{"id":["$BigInt","7"],"output":{"a":["$$x",1],"b":["$BigInt","2"],"c":["$Uint8Array","AQI="]}}}}');
    const err = codec.toClient.encode("json", { tag: "Error", val: { group: "g", code: "c", message: "m", actionId: null } });
    assert.equal(err, '{"body":{"tag":"Error","val":{"group":"g","code":"c","message":"m","actionId":null}}}');
  });

  test("bare: every message starts with protocol version 4, little-endian", () => {
    for (const c of cases) {
      const wire = c.codec.encode("bare", c.samples[0]);
      assert.deepEqual([...wire.subarray(0, 2)], [CURRENT_VERSION, 0], c.name);
      assert.equal(splitVersion(wire).version, 4);
    }
  });

  test("bare: older versions are read and upgraded; unknown ones are refused", () => {
    const action = { body: { tag: "ActionRequest" as const, val: { id: 3n, name: "a", args: new Uint8Array(cborEncode(json.encodeJsonCompat([1]))).buffer } } };
    assert.deepStrictEqual(codec.toServer.decode("bare", embedVersion(1, v1.encodeToServer(action))), { tag: "ActionRequest", val: { id: 3n, name: "a", args: [1] } });
    const init = v1.encodeToClient({ body: { tag: "Init", val: { actorId: "a", connectionId: "c", connectionToken: "t" } } });
    assert.deepStrictEqual(codec.toClient.decode("bare", embedVersion(1, init)), { tag: "Init", val: { actorId: "a", connectionId: "c" } });
    const queue = v3.encodeHttpQueueSendRequest({ body: new Uint8Array(cborEncode("b")).buffer, name: "q", wait: null, timeout: 5n });
    assert.deepStrictEqual(codec.httpQueueSendRequest.decode("bare", embedVersion(3, queue)), { body: "b", name: "q", wait: false, timeout: 5 });
    assert.throws(() => codec.httpQueueSendRequest.decode("bare", embedVersion(2, queue)), invalid);
    assert.throws(() => codec.toServer.decode("bare", embedVersion(9, v1.encodeToServer(action))), invalid);
  });

  test("bare: fields of 16 KiB and more keep their length (the bug of @bare-ts/lib)", () => {
    const output = "x".repeat(20_000);
    const wire = codec.httpActionResponse.encode("bare", { output });
    // version (2) + ULEB128 length of the CBOR (3 bytes) + CBOR text header (3) + the text.
    assert.equal(wire.length, 2 + 3 + 3 + 20_000);
    assert.deepEqual([...wire.subarray(2, 5)], [0xa3, 0x9c, 0x01]); // 20003 = 0x4e23
    assert.equal(codec.httpActionResponse.decode("bare", wire).output, output);
  });

  test("cbor from a client is read as sent: no tags revived, so user `$` arrays survive", () => {
    const wire = cborEncode({ body: { tag: "ActionRequest", val: { id: 1n, name: "a", args: [["$x", 1], ["$BigInt", "2"]] } } });
    assert.deepStrictEqual(codec.toServer.decode("cbor", wire), { tag: "ActionRequest", val: { id: 1n, name: "a", args: [["$x", 1], ["$BigInt", "2"]] } });
  });

  test("action args are normalized as rivetkit's server does", () => {
    assert.deepStrictEqual(codec.httpActionRequest.decode("json", '{"args":null}'), { args: [] });
    assert.deepStrictEqual(codec.httpActionRequest.decode("json", "{}"), { args: [] });
    assert.deepStrictEqual(codec.httpActionRequest.decode("json", '{"args":5}'), { args: [5] });
  });

  test("malformed input is request/invalid, in every encoding", () => {
    for (const encoding of codec.ENCODINGS) {
      for (const bad of [new Uint8Array([0xff, 0xfe, 0x01]), new Uint8Array([])]) {
        assert.throws(() => codec.toServer.decode(encoding, bad), invalid, `${encoding} ${bad.length}`);
        assert.throws(() => codec.httpQueueSendRequest.decode(encoding, bad), invalid);
      }
    }
    assert.throws(() => codec.toServer.decode("json", '{"body":{"tag":"Init","val":{}}}'), invalid);
    assert.throws(() => codec.toServer.decode("json", '{"body":{"tag":"ActionRequest","val":{"id":-1,"name":"a","args":[]}}}'), invalid);
    assert.throws(() => codec.toServer.decode("json", '{"body":{"tag":"ActionRequest","val":{"id":1,"name":"a","args":[["$Nope",1]]}}}'), invalid);
    assert.throws(() => codec.httpQueueSendResponse.decode("json", '{"status":"done"}'), invalid);
    assert.throws(() => codec.toServer.decode("cbor", "text"), invalid);
  });

  test("x-rivet-encoding: absent is json, unknown is encoding/invalid", () => {
    assert.equal(codec.encodingFromHeader(null), "json");
    assert.equal(codec.encodingFromHeader("bare"), "bare");
    assert.throws(
      () => codec.encodingFromHeader("xml"),
      (e: unknown) => e instanceof TroupeError && e.group === "encoding" && e.code === "invalid",
    );
  });

  test("json conventions: undefined and Set in tagged trees, unknown tags refused", () => {
    assert.deepStrictEqual(json.encodeJsonCompat({ u: undefined, s: new Set([1n]) }), { u: ["$Undefined", 0], s: ["$Set", [["$BigInt", "1"]]] });
    assert.deepStrictEqual(json.reviveJsonCompat({ u: ["$Undefined", 0], s: ["$Set", [["$BigInt", "1"]]] }), { u: undefined, s: new Set([1n]) });
    assert.throws(() => json.jsonParseCompat('["$Nope",1]'), /Unknown JSON encoding type/);
    assert.deepStrictEqual(json.jsonParseCompat('["$$Nope",["$$x",2]]'), ["$Nope", ["$x", 2]]);
  });
});

const missing = rivetkitMissing();

describe("against the real rivetkit 2.3.19 client", { skip: missing }, () => {
  let rk: Awaited<ReturnType<typeof loadRivetkit>>;
  before(async () => {
    rk = await loadRivetkit();
  });

  test("json.ts and the cbor-compat helpers match the client's own", () => {
    const serde: RivetkitSerde = rk.serde;
    const values: unknown[] = [tricky, args, ["$a", ["$b", 1n]], { buf: Buffer.from([1, 2]), ab: new Uint8Array([3]).buffer }, "s", 1, null];
    for (const v of values) {
      assert.equal(json.jsonStringifyCompat(v), serde.jsonStringifyCompat(v));
      const text = serde.jsonStringifyCompat(v);
      assert.deepStrictEqual(json.jsonParseCompat(text), serde.jsonParseCompat(text));
    }
    // Plain data is tagged without JSON.stringify's replacer and revived copying only what changes:
    // both must still write and read exactly what the client does, and leave their input as it was.
    const tagLike = fc.tuple(fc.constantFrom("$BigInt", "$x", "$$y", "$Uint8Array", "$"), fc.oneof(fc.string(), fc.integer(), fc.bigInt()));
    const plain = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.bigInt(), tagLike, tie("list"), tie("object")),
      list: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(plain, (v) => {
        const before = serde.jsonStringifyCompat(v);
        assert.equal(json.jsonStringifyCompat(v), before);
        const parsed = JSON.parse(before) as unknown;
        const snapshot = JSON.stringify(parsed);
        assert.deepStrictEqual(json.reviveJsonCompat(parsed), serde.jsonParseCompat(before));
        assert.equal(JSON.stringify(parsed), snapshot);
        assert.equal(serde.jsonStringifyCompat(v), before);
      }),
      { numRuns: 500 },
    );
    for (const v of [...values, { u: undefined, s: new Set(["$x"]), m: new Map<unknown, unknown>([[1n, ["$y", 2]]]) }]) {
      const ours = codec.encodeCborCompat(v);
      assert.deepEqual(ours, new Uint8Array(serde.encodeCborCompat(v)));
      assert.deepStrictEqual(codec.decodeCborCompat(ours), serde.decodeCborCompat(ours));
    }
  });

  for (const encoding of codec.ENCODINGS) {
    describe(encoding, () => {
      test("HTTP action: the client's bytes are ours, and it reads our answer and our error", async () => {
        const requests: CapturedRequest[] = [];
        let answer = (_r: CapturedRequest): Response => new Response(null, { status: 500 });
        const { driver } = fakeDriver((r) => (requests.push(r), answer(r)));
        const handle = rk.client.createClientWithDriver(driver, { encoding }).getForId("counter", "actor-1");

        answer = () => respond(encoding, 200, codec.httpActionResponse.encode(encoding, { output: tricky }));
        assert.deepStrictEqual(await handle.action({ name: "echo", args }), tricky);
        const req = requests.at(-1)!;
        assert.equal(new URL(req.url).pathname, "/action/echo");
        assert.equal(req.headers.get("x-rivet-encoding"), encoding);
        assert.equal(req.headers.get("content-type"), codec.CONTENT_TYPE[encoding]);
        assert.deepStrictEqual(codec.httpActionRequest.decode(encoding, req.body), { args });
        assertSameBytes(encoding, req.body, codec.httpActionRequest.encode(encoding, { args }));

        const failure: m.HttpResponseError = { group: "user", code: "out_of_stock", message: "none left", metadata: tricky };
        const actor = { actorId: "actor-1", generation: 2, key: "k/1" };
        answer = () => respond(encoding, 400, codec.httpResponseError.encode(encoding, { ...failure, actor }));
        const err = await handle.action({ name: "buy", args: [] }).then(() => undefined, (e: unknown) => e);
        assert.deepStrictEqual(pick(err), failure);
        assert.deepStrictEqual({ ...(err as { actor: unknown }).actor as object }, actor);
      });

      test("HTTP queue send, with and without wait", async () => {
        const requests: CapturedRequest[] = [];
        const { driver } = fakeDriver((r) => {
          requests.push(r);
          return respond(encoding, 200, codec.httpQueueSendResponse.encode(encoding, { status: "completed", response: tricky }));
        });
        const handle = rk.client.createClientWithDriver(driver, { encoding }).getForId("counter", "actor-1");

        assert.deepStrictEqual(await handle.send("jobs", tricky, { wait: true, timeout: 1500 }), { status: "completed", response: tricky });
        const waited: m.HttpQueueSendRequest = { body: tricky, name: "jobs", wait: true, timeout: 1500 };
        assert.equal(new URL(requests[0]!.url).pathname, "/queue/jobs");
        assert.deepStrictEqual(codec.httpQueueSendRequest.decode(encoding, requests[0]!.body), waited);
        assertSameBytes(encoding, requests[0]!.body, codec.httpQueueSendRequest.encode(encoding, waited));

        assert.equal(await handle.send("jobs", ["$a", 1]), undefined);
        const sent: m.HttpQueueSendRequest = { body: ["$a", 1], name: "jobs", wait: false };
        assert.deepStrictEqual(codec.httpQueueSendRequest.decode(encoding, requests[1]!.body), sent);
        assertSameBytes(encoding, requests[1]!.body, codec.httpQueueSendRequest.encode(encoding, sent));
      });

      test("WebSocket: Init, actions, errors, subscriptions and events", async () => {
        const { driver, sockets } = fakeDriver(() => new Response(null, { status: 500 }));
        const conn = rk.client.createClientWithDriver(driver, { encoding }).getForId("counter", "actor-1").connect();
        try {
          await waitFor(() => sockets.length > 0, "the client to open its socket");
          const { socket, path, encoding: wsEncoding } = sockets[0]!;
          assert.equal(path, "/connect");
          assert.equal(wsEncoding, encoding);
          const deliver = (msg: m.ToClient) => socket.deliver(codec.toClient.encode(encoding, msg));
          const nextFrame = async () => {
            const frame = await socket.next();
            const decoded = codec.toServer.decode(encoding, frame);
            assertSameBytes(encoding, frame, codec.toServer.encode(encoding, decoded));
            return decoded;
          };
          deliver({ tag: "Init", val: { actorId: "actor-1", connectionId: "conn-1" } });

          const call = conn.action({ name: "echo", args });
          const request = await nextFrame();
          assert.equal(request.tag, "ActionRequest");
          if (request.tag !== "ActionRequest") return;
          assert.deepStrictEqual(request.val, { id: request.val.id, name: "echo", args });
          deliver({ tag: "ActionResponse", val: { id: request.val.id, output: tricky } });
          assert.deepStrictEqual(await call, tricky);

          const failing = conn.action({ name: "buy", args: [] }).then(() => undefined, (e: unknown) => e);
          const buy = await nextFrame();
          assert.ok(buy.tag === "ActionRequest" && buy.val.id === request.val.id + 1n);
          const failure = { group: "user", code: "bad", message: "no", metadata: tricky };
          deliver({ tag: "Error", val: { ...failure, actionId: buy.val.id } });
          assert.deepStrictEqual(pick(await failing), failure);

          const events: unknown[][] = [];
          conn.on("news", (...a: unknown[]) => events.push(a));
          assert.deepStrictEqual(await nextFrame(), { tag: "SubscriptionRequest", val: { eventName: "news", subscribe: true } });
          deliver({ tag: "Event", val: { name: "news", args: [tricky, ["$a", 1]] } });
          await waitFor(() => events.length > 0, "the event");
          assert.deepStrictEqual(events, [[tricky, ["$a", 1]]]);

          const connErrors: unknown[] = [];
          conn.onError((e: unknown) => connErrors.push(e));
          deliver({ tag: "Error", val: { group: "actor", code: "overloaded", message: "later", metadata: { retryMs: 5n }, actionId: null } });
          await waitFor(() => connErrors.length > 0, "the connection error");
          assert.deepStrictEqual(connErrors.map(pick), [{ group: "actor", code: "overloaded", message: "later", metadata: { retryMs: 5n } }]);
        } finally {
          await conn.dispose();
        }
      });
    });
  }
});

function respond(encoding: Encoding, status: number, body: string | Uint8Array): Response {
  return new Response(typeof body === "string" ? body : body.slice(), { status, headers: { "content-type": codec.CONTENT_TYPE[encoding] } });
}

/** Bytes are equal; json is compared as text. */
function assertSameBytes(encoding: Encoding, actual: string | Uint8Array, expected: string | Uint8Array): void {
  if (encoding === "json") assert.equal(asText(actual), asText(expected));
  else assert.deepEqual(new Uint8Array(actual as Uint8Array), new Uint8Array(expected as Uint8Array));
}

/** The wire fields of the client's ActorError. */
function pick(err: unknown): m.HttpResponseError {
  const e = err as { group: string; code: string; message: string; metadata?: unknown };
  assert.ok(e && typeof e.group === "string", `expected an ActorError, got ${String(err)}`);
  return { group: e.group, code: e.code, message: e.message, ...(e.metadata !== undefined ? { metadata: e.metadata } : {}) };
}
