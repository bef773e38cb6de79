/**
 * RivetKit's client protocol (rivetkit 2.3.19) in the three encodings its client speaks.
 * Each family below is a pair: `encode(encoding, message)` and `decode(encoding, data)`.
 *
 *   family                 carried by                          message
 *   httpActionRequest      POST …/action/{name} body            {args}
 *   httpActionResponse     its 200 answer                       {output}
 *   httpQueueSendRequest   POST …/queue/{name} body             {body, name, wait, timeout}
 *   httpQueueSendResponse  its 200 answer                       {status: "completed"|"timedOut", response?}
 *   httpResponseError      any non-2xx answer                   {group, code, message, metadata?, actor?}
 *   toServer               WebSocket …/connect, client frames   {body: {tag: "ActionRequest"|"SubscriptionRequest", val}}
 *   toClient               WebSocket …/connect, server frames   {body: {tag: "Init"|"Error"|"ActionResponse"|"Event", val}}
 *
 * The encoding is named by the `x-rivet-encoding` header or the `rivet_encoding.<name>`
 * subprotocol; the client's default is bare.
 *   json  UTF-8 JSON text; HTTP Content-Type application/json, WebSocket text frames. The tree is
 *         the message as above; bigint ids go as ["$BigInt","7"], and user values carry the `$`
 *         tags of json.ts.
 *   cbor  the same tree as one CBOR item (cbor-x's default encoder, as rivetkit's), sent as
 *         application/octet-stream / binary frames; ids are CBOR integers read back as bigint.
 *   bare  a u16 little-endian protocol version, then the BARE struct of schemas/v4.bare; user values
 *         sit in `Cbor` (data) fields as CBOR of the `$`-tagged value. Written as version 4, read
 *         as versions 1 to 4 (queue messages exist from 3); see versioned.ts.
 *
 * Each direction mirrors the side that writes it, because rivetkit's two sides differ:
 * - client → server is written as rivetkit's client writes it (byte for byte, the test checks):
 *   json with its jsonStringifyCompat (`$` escaping and tags), cbor as the plain value with no tags
 *   or escaping at all, bare with tagged CBOR fields. So cbor is read back without reviving tags;
 *   rivetkit's own server revives them there, and so rejects a user array like ["$x", 1].
 * - server → client is written as rivetkit's server does: user values always `$`-tagged (so the
 *   client's reviver, which it runs on json and cbor alike, gives them back), and read as its
 *   client reads them.
 * Decoding failures throw TroupeError request/invalid (400), RivetKit's pair for a bad request.
 */
import { decode as cborDecode, encode as cborEncode } from "cbor-x";
import { errors, TroupeError } from "../../common/errors.js";
import type * as v4 from "./generated/v4.js";
import { actorSpecifier, argList, boolean, invalid, list, optionalNumber, record, string, uint } from "./fields.js";
import { encodeJsonCompat, jsonParseCompat, jsonStringifyCompat, reviveJsonCompat } from "../../client/protocol/json-compat.js";
import type * as m from "./messages.js";
import * as versioned from "./versioned.js";

export type Encoding = "json" | "cbor" | "bare";
export const ENCODINGS: readonly Encoding[] = ["json", "cbor", "bare"];

/** What the client sends and expects as Content-Type for each encoding. */
export const CONTENT_TYPE: Readonly<Record<Encoding, string>> = {
  json: "application/json",
  cbor: "application/octet-stream",
  bare: "application/octet-stream",
};

/** An `x-rivet-encoding` value: absent means json, as in rivetkit's server; unknown is RivetKit's encoding/invalid. */
export function encodingFromHeader(value: string | null | undefined): Encoding {
  if (value === null || value === undefined || value === "") return "json";
  if ((ENCODINGS as readonly string[]).includes(value)) return value as Encoding;
  throw errors.rivetInvalidEncoding(value);
}

/** Encoded cbor bytes may be a view into a larger buffer (cbor-x pools them): mind byteOffset. */
export interface MessageCodec<T> {
  encode(encoding: "json", message: T): string;
  encode(encoding: "cbor" | "bare", message: T): Uint8Array;
  encode(encoding: Encoding, message: T): string | Uint8Array;
  decode(encoding: Encoding, data: string | Uint8Array): T;
}

// MARK: helpers

/**
 * rivetkit's encodeCborCompat: CBOR of the `$`-tagged value. It fills BARE `Cbor` fields, and the
 * client also sends actor input this way (base64 in `PUT/POST /actors`, base64url in `rvt-input`).
 */
export function encodeCborCompat(value: unknown): Uint8Array {
  return new Uint8Array(cborEncode(encodeJsonCompat(value)));
}

/** rivetkit's decodeCborCompat, the inverse of encodeCborCompat. */
export function decodeCborCompat(data: Uint8Array): unknown {
  return reviveJsonCompat(cborDecode(data));
}

// A fresh ArrayBuffer of exactly the bytes: cbor-x returns views into a shared buffer.
const toCbor = (value: unknown): ArrayBuffer => encodeCborCompat(value).buffer as ArrayBuffer;
const fromCbor = (data: ArrayBuffer): unknown => decodeCborCompat(new Uint8Array(data));

const same = <V>(value: V): V => value;

const actorToBare = (a: m.ActorSpecifier | undefined): v4.ActorSpecifier | null =>
  a ? { actorId: a.actorId, generation: BigInt(a.generation), key: a.key ?? null } : null;
const actorFromBare = (a: v4.ActorSpecifier | null): m.ActorSpecifier | undefined =>
  a ? { actorId: a.actorId, generation: Number(a.generation), ...(a.key !== null ? { key: a.key } : {}) } : undefined;

/** Only the keys whose value is defined, so optional fields are absent rather than `undefined` on the wire. */
function defined<T extends Record<string, unknown>>(tree: T): T {
  for (const k of Object.keys(tree)) if (tree[k] === undefined) delete tree[k];
  return tree;
}

/** A protocol id (u64) in server json: the `$BigInt` tag the client's reviver reads back. */
const idAsTag = (id: bigint): unknown => ["$BigInt", id.toString()];

// One decoder for every frame: making one per frame cost more than the decoding.
const utf8 = new TextDecoder("utf-8");

function text(data: string | Uint8Array): string {
  return typeof data === "string" ? data : utf8.decode(data);
}

function bytes(data: string | Uint8Array, encoding: Encoding): Uint8Array {
  if (typeof data === "string") throw invalid(`${encoding} messages are binary, got text`);
  return data;
}

// MARK: the family builder

interface Spec<T, B> {
  /** Who writes this message: rules for tags and escaping follow that side (see the header). */
  writer: "client" | "server";
  /**
   * The json/cbor tree, with each user value passed through `user` and each protocol id (a
   * bigint) through `id`; nothing else in a tree is a bigint.
   */
  tree(message: T, user: (value: unknown) => unknown, id: (value: bigint) => unknown): unknown;
  /** A json/cbor tree back into the message; user values in it are final. */
  fromTree(tree: unknown): T;
  toBare(message: T): B;
  fromBare(bare: B): T;
  bare: versioned.Versioned<B>;
}

function family<T, B>(spec: Spec<T, B>): MessageCodec<T> {
  const byServer = spec.writer === "server";
  const encode = (encoding: Encoding, message: T): string | Uint8Array => {
    switch (encoding) {
      case "json":
        // The server's tree is tagged as it is built: no replacer, which would slow JSON.stringify.
        return byServer ? JSON.stringify(spec.tree(message, encodeJsonCompat, idAsTag)) : jsonStringifyCompat(spec.tree(message, same, same));
      case "cbor":
        return cborEncode(spec.tree(message, byServer ? encodeJsonCompat : same, same));
      case "bare":
        return spec.bare.encode(spec.toBare(message));
    }
  };
  const decode = (encoding: Encoding, data: string | Uint8Array): T => {
    try {
      switch (encoding) {
        case "json":
          return spec.fromTree(jsonParseCompat(text(data)));
        case "cbor": {
          const tree: unknown = cborDecode(bytes(data, encoding));
          return spec.fromTree(byServer ? reviveJsonCompat(tree) : tree);
        }
        case "bare":
          return spec.fromBare(spec.bare.decode(bytes(data, encoding)));
        default:
          throw invalid(`unknown encoding ${String(encoding)}`);
      }
    } catch (err) {
      if (err instanceof TroupeError) throw err;
      throw invalid(`undecodable ${encoding} message (${err instanceof Error ? err.message : String(err)})`, err);
    }
  };
  return { encode, decode } as MessageCodec<T>;
}

// MARK: HTTP

export const httpActionRequest = family<m.HttpActionRequest, v4.HttpActionRequest>({
  writer: "client",
  tree: (msg, user) => ({ args: user(msg.args) }),
  fromTree: (tree) => ({ args: argList(record(tree, "body").args) }),
  toBare: (msg) => ({ args: toCbor(msg.args) }),
  fromBare: (bare) => ({ args: argList(fromCbor(bare.args)) }),
  bare: versioned.httpActionRequest,
});

export const httpActionResponse = family<m.HttpActionResponse, v4.HttpActionResponse>({
  writer: "server",
  tree: (msg, user) => ({ output: user(msg.output) }),
  fromTree: (tree) => ({ output: record(tree, "body").output }),
  toBare: (msg) => ({ output: toCbor(msg.output) }),
  fromBare: (bare) => ({ output: fromCbor(bare.output) }),
  bare: versioned.httpActionResponse,
});

export const httpQueueSendRequest = family<m.HttpQueueSendRequest, v4.HttpQueueSendRequest>({
  writer: "client",
  // Key order and the kept `timeout: undefined` are those of the client's zod output (cbor keeps them).
  tree: (msg, user) => ({ body: user(msg.body), name: msg.name, wait: msg.wait, timeout: msg.timeout }),
  fromTree: (tree) => {
    const t = record(tree, "body");
    return defined({
      body: t.body,
      name: t.name === undefined || t.name === null ? undefined : string(t.name, "name"),
      wait: t.wait === undefined || t.wait === null ? false : boolean(t.wait, "wait"),
      timeout: optionalNumber(t.timeout, "timeout"),
    });
  },
  toBare: (msg) => ({
    body: toCbor(msg.body),
    name: msg.name ?? null,
    wait: msg.wait ?? false,
    timeout: msg.timeout === undefined ? null : BigInt(msg.timeout),
  }),
  fromBare: (bare) =>
    defined({
      body: fromCbor(bare.body),
      name: bare.name ?? undefined,
      wait: bare.wait ?? false,
      timeout: bare.timeout === null ? undefined : Number(bare.timeout),
    }),
  bare: versioned.httpQueueSendRequest,
});

function queueStatus(value: unknown): m.HttpQueueSendResponse["status"] {
  if (value !== "completed" && value !== "timedOut") throw invalid('status must be "completed" or "timedOut"');
  return value;
}

export const httpQueueSendResponse = family<m.HttpQueueSendResponse, v4.HttpQueueSendResponse>({
  writer: "server",
  tree: (msg, user) => defined({ status: msg.status, response: msg.response === undefined ? undefined : user(msg.response), messageId: msg.messageId }),
  fromTree: (tree) => {
    const t = record(tree, "body");
    return defined({ status: queueStatus(t.status), response: t.response, messageId: optionalNumber(t.messageId, "messageId") });
  },
  toBare: (msg) => ({ status: msg.status, response: msg.response === undefined ? null : toCbor(msg.response) }),
  fromBare: (bare) => defined({ status: queueStatus(bare.status), response: bare.response === null ? undefined : fromCbor(bare.response) }),
  bare: versioned.httpQueueSendResponse,
});

function errorTree(e: m.HttpResponseError, user: (value: unknown) => unknown) {
  return {
    group: e.group,
    code: e.code,
    message: e.message,
    ...(e.metadata !== undefined ? { metadata: user(e.metadata) } : {}),
    ...(e.actor ? { actor: defined({ actorId: e.actor.actorId, generation: e.actor.generation, key: e.actor.key }) } : {}),
  };
}

function errorFromTree(t: Record<string, unknown>): m.HttpResponseError {
  return defined({
    group: string(t.group, "group"),
    code: string(t.code, "code"),
    message: string(t.message, "message"),
    metadata: t.metadata,
    actor: actorSpecifier(t.actor),
  });
}

export const httpResponseError = family<m.HttpResponseError, v4.HttpResponseError>({
  writer: "server",
  tree: errorTree,
  fromTree: (tree) => errorFromTree(record(tree, "body")),
  toBare: (e) => ({
    group: e.group,
    code: e.code,
    message: e.message,
    metadata: e.metadata === undefined ? null : toCbor(e.metadata),
    actor: actorToBare(e.actor),
  }),
  fromBare: (b) =>
    defined({ group: b.group, code: b.code, message: b.message, metadata: b.metadata === null ? undefined : fromCbor(b.metadata), actor: actorFromBare(b.actor) }),
  bare: versioned.httpResponseError,
});

// MARK: WebSocket

function frameBody(tree: unknown): { tag: string; val: Record<string, unknown> } {
  const body = record(record(tree, "frame").body, "body");
  return { tag: string(body.tag, "body.tag"), val: record(body.val, "body.val") };
}

export const toServer = family<m.ToServer, v4.ToServer>({
  writer: "client",
  tree: (msg, user) => ({
    body:
      msg.tag === "ActionRequest"
        ? { tag: msg.tag, val: { id: msg.val.id, name: msg.val.name, args: user(msg.val.args) } }
        : { tag: msg.tag, val: { eventName: msg.val.eventName, subscribe: msg.val.subscribe } },
  }),
  fromTree: (tree) => {
    const { tag, val } = frameBody(tree);
    if (tag === "ActionRequest") return { tag, val: { id: uint(val.id, "id"), name: string(val.name, "name"), args: argList(val.args) } };
    if (tag === "SubscriptionRequest") return { tag, val: { eventName: string(val.eventName, "eventName"), subscribe: boolean(val.subscribe, "subscribe") } };
    throw invalid(`unknown frame tag ${tag.slice(0, 50)}`);
  },
  toBare: (msg) => ({
    body: msg.tag === "ActionRequest" ? { tag: msg.tag, val: { id: msg.val.id, name: msg.val.name, args: toCbor(msg.val.args) } } : msg,
  }),
  fromBare: ({ body }) =>
    body.tag === "ActionRequest" ? { tag: body.tag, val: { id: body.val.id, name: body.val.name, args: argList(fromCbor(body.val.args)) } } : { tag: body.tag, val: { ...body.val } },
  bare: versioned.toServer,
});

export const toClient = family<m.ToClient, v4.ToClient>({
  writer: "server",
  tree: (msg, user, id) => {
    switch (msg.tag) {
      case "Init":
        return { body: { tag: msg.tag, val: { actorId: msg.val.actorId, connectionId: msg.val.connectionId } } };
      case "Error":
        // actionId is required (null for a connection error): the client's schema says so.
        return { body: { tag: msg.tag, val: { ...errorTree(msg.val, user), actionId: msg.val.actionId === null || msg.val.actionId === undefined ? null : id(msg.val.actionId) } } };
      case "ActionResponse":
        return { body: { tag: msg.tag, val: { id: id(msg.val.id), output: user(msg.val.output) } } };
      case "Event":
        return { body: { tag: msg.tag, val: { name: msg.val.name, args: user(msg.val.args) } } };
    }
  },
  fromTree: (tree) => {
    const { tag, val } = frameBody(tree);
    switch (tag) {
      case "Init":
        return { tag, val: { actorId: string(val.actorId, "actorId"), connectionId: string(val.connectionId, "connectionId") } };
      case "Error":
        return { tag, val: { ...errorFromTree(val), actionId: val.actionId === null || val.actionId === undefined ? null : uint(val.actionId, "actionId") } };
      case "ActionResponse":
        return { tag, val: { id: uint(val.id, "id"), output: val.output } };
      case "Event":
        return { tag, val: { name: string(val.name, "name"), args: list(val.args, "args") } };
      default:
        throw invalid(`unknown frame tag ${tag.slice(0, 50)}`);
    }
  },
  toBare: (msg): v4.ToClient => {
    switch (msg.tag) {
      case "Init":
        return { body: { tag: msg.tag, val: { actorId: msg.val.actorId, connectionId: msg.val.connectionId } } };
      case "Error": {
        const e = msg.val;
        const metadata = e.metadata === undefined ? null : toCbor(e.metadata);
        return { body: { tag: msg.tag, val: { group: e.group, code: e.code, message: e.message, metadata, actionId: e.actionId, actor: actorToBare(e.actor) } } };
      }
      case "ActionResponse":
        return { body: { tag: msg.tag, val: { id: msg.val.id, output: toCbor(msg.val.output) } } };
      case "Event":
        return { body: { tag: msg.tag, val: { name: msg.val.name, args: toCbor(msg.val.args) } } };
    }
  },
  fromBare: ({ body }): m.ToClient => {
    switch (body.tag) {
      case "Init":
        return { tag: body.tag, val: { ...body.val } };
      case "Error": {
        const e = body.val;
        const metadata = e.metadata === null ? undefined : fromCbor(e.metadata);
        return { tag: body.tag, val: defined({ group: e.group, code: e.code, message: e.message, metadata, actionId: e.actionId, actor: actorFromBare(e.actor) }) };
      }
      case "ActionResponse":
        return { tag: body.tag, val: { id: body.val.id, output: fromCbor(body.val.output) } };
      case "Event":
        return { tag: body.tag, val: { name: body.val.name, args: list(fromCbor(body.val.args), "args") } };
    }
  },
  bare: versioned.toClient,
});
