import { decode as cborDecode, encode as cborEncode } from "cbor-x";
import WebSocket from "ws";
import { bytesToBase64, encodeJsonCompat, jsonParseCompat, jsonStringifyCompat, reviveJsonCompat } from "../../src/client/protocol/json-compat.js";
import { serializeActorKey } from "../../src/client/protocol/keys.js";

// Troupe's wire protocol (RivetKit's client protocol, docs/PROTOCOL.md) spoken by hand, for tests
// that check what goes over the wire rather than what a client makes of it.

export type WireEncoding = "json" | "cbor";

export interface WireResponse {
  status: number;
  headers: Headers;
  /** The decoded body (`$` tags revived), or undefined when it is not in the encoding. */
  body: any;
  text: string;
}

/** The base64 of the CBOR-compat value, as `input` travels in `PUT`/`POST /actors`. */
export function encodeInput(input: unknown): string {
  return bytesToBase64(new Uint8Array(cborEncode(encodeJsonCompat(input))));
}

async function readJson(res: Response): Promise<WireResponse> {
  const text = await res.text();
  let body: unknown;
  try {
    body = jsonParseCompat(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** `PUT /actors` (getOrCreate, the default) or `POST /actors` (create); the raw answer. */
export async function putActor(url: string, name: string, key: readonly string[] = [], opts: { input?: unknown; create?: boolean; headers?: Record<string, string> } = {}): Promise<WireResponse> {
  const body: Record<string, unknown> = { name, key: serializeActorKey(key) };
  if (opts.input !== undefined) body.input = encodeInput(opts.input);
  const res = await fetch(`${url}/actors`, {
    method: opts.create ? "POST" : "PUT",
    headers: { "content-type": "application/json", ...opts.headers },
    body: JSON.stringify(body),
  });
  return readJson(res);
}

/** Gets or creates an actor and returns its id; throws on any other answer. */
export async function actorId(url: string, name: string, key: readonly string[] = [], opts: { input?: unknown; create?: boolean } = {}): Promise<string> {
  const r = await putActor(url, name, key, opts);
  if (r.status !== 200) throw new Error(`PUT /actors answered ${r.status}: ${r.text}`);
  return r.body.actor.actor_id as string;
}

/** `GET /actors?name=&key=`: the actors list (empty when there is none). */
export async function findActor(url: string, name: string, key: readonly string[] = []): Promise<WireResponse> {
  return readJson(await fetch(`${url}/actors?name=${encodeURIComponent(name)}&key=${encodeURIComponent(serializeActorKey(key))}`));
}

export function gatewayUrl(url: string, actorId: string, rest: string): string {
  return `${url}/gateway/${encodeURIComponent(actorId)}${rest}`;
}

interface CallOptions {
  encoding?: WireEncoding;
  /** Connection params, sent in `x-rivet-conn-params`. */
  params?: unknown;
  headers?: Record<string, string>;
}

function requestHeaders(o: CallOptions): Record<string, string> {
  const encoding = o.encoding ?? "json";
  const h: Record<string, string> = {
    "content-type": encoding === "json" ? "application/json" : "application/octet-stream",
    "x-rivet-encoding": encoding,
  };
  if (o.params !== undefined) h["x-rivet-conn-params"] = JSON.stringify(o.params);
  return { ...h, ...o.headers };
}

async function post(target: string, message: unknown, o: CallOptions): Promise<WireResponse> {
  const encoding = o.encoding ?? "json";
  const payload = encoding === "json" ? jsonStringifyCompat(message) : new Uint8Array(cborEncode(message));
  const res = await fetch(target, { method: "POST", headers: requestHeaders(o), body: payload as BodyInit });
  const json = encoding === "json" || (res.headers.get("content-type") ?? "").startsWith("application/json");
  return json ? readJson(res) : readCbor(res);
}

/** A binary answer: CBOR with the `$` tags revived (a BARE body does not decode and reads as undefined). */
async function readCbor(res: Response): Promise<WireResponse> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  let body: unknown;
  try {
    body = bytes.byteLength === 0 ? undefined : reviveJsonCompat(cborDecode(bytes));
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text: "" };
}

/** `POST /gateway/{id}/action/{name}` with `{args}`: 200 `{output}`, or an error `{group, code, message, metadata}`. */
export function callAction(url: string, actorId: string, action: string, args: unknown[] = [], o: CallOptions = {}): Promise<WireResponse> {
  return post(gatewayUrl(url, actorId, `/action/${encodeURIComponent(action)}`), { args }, o);
}

/** `POST /gateway/{id}/queue/{name}`: 200 `{status, response?, messageId}`. */
export function sendQueue(url: string, actorId: string, queue: string, body: unknown, opts: { wait?: boolean; timeout?: number } & CallOptions = {}): Promise<WireResponse> {
  return post(gatewayUrl(url, actorId, `/queue/${encodeURIComponent(queue)}`), { body, name: queue, wait: opts.wait ?? false, timeout: opts.timeout }, opts);
}

/** A server frame, decoded: `{tag, val}` with ids as bigint. */
export interface Frame {
  tag: "Init" | "Error" | "ActionResponse" | "Event";
  val: any;
}

/**
 * A raw connection socket (`/gateway/{id}/connect`) with the frames it received, decoded.
 * Offers the subprotocols the client offers: `rivet`, `rivet_encoding.*`, `rivet_conn_params.*`.
 */
export class WireConn {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];
  private nextId = 1n;

  constructor(url: string, actorId: string, readonly opts: { encoding?: WireEncoding; params?: unknown; protocols?: string[]; headers?: Record<string, string> } = {}) {
    const encoding = opts.encoding ?? "json";
    const protocols = opts.protocols ?? ["rivet", `rivet_encoding.${encoding}`, ...(opts.params === undefined ? [] : [`rivet_conn_params.${encodeURIComponent(JSON.stringify(opts.params))}`])];
    this.ws = new WebSocket(`${url.replace(/^http/, "ws")}/gateway/${encodeURIComponent(actorId)}/connect`, protocols, { headers: opts.headers });
    this.ws.on("message", (data, isBinary) => {
      const tree = isBinary ? reviveJsonCompat(cborDecode(data as Buffer)) : jsonParseCompat(data.toString());
      this.frames.push((tree as { body: Frame }).body);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) => this.ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  get encoding(): WireEncoding {
    return this.opts.encoding ?? "json";
  }

  /** Sends a client frame `{body: {tag, val}}` in the socket's encoding. */
  sendFrame(body: { tag: string; val: unknown }): void {
    this.ws.send(this.encoding === "json" ? jsonStringifyCompat({ body }) : cborEncode({ body }));
  }

  /** Sends an ActionRequest and returns its id. */
  action(name: string, args: unknown[] = []): bigint {
    const id = this.nextId++;
    this.sendFrame({ tag: "ActionRequest", val: { id, name, args } });
    return id;
  }

  subscribe(eventName: string, subscribe = true): void {
    this.sendFrame({ tag: "SubscriptionRequest", val: { eventName, subscribe } });
  }

  /** The first received frame (in order) that `match` accepts, removed from `frames`. */
  async next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The Init frame: the connection was admitted. */
  ready(timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.tag === "Init", timeoutMs);
  }

  /** The answer (ActionResponse or Error) to the action with this id. */
  reply(id: bigint, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => (f.tag === "ActionResponse" && f.val.id === id) || (f.tag === "Error" && f.val.actionId === id), timeoutMs);
  }

  /** Calls an action and resolves with its output, or rejects with the Error frame's `group/code`. */
  async call(name: string, args: unknown[] = []): Promise<unknown> {
    const f = await this.reply(this.action(name, args));
    if (f.tag === "Error") throw Object.assign(new Error(`${f.val.group}/${f.val.code}: ${f.val.message}`), f.val);
    return f.val.output;
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}

/**
 * Any request, its answer decoded by its Content-Type: JSON (`$` tags revived), or CBOR for
 * `application/octet-stream` (a bare answer leaves `body` undefined). For requests the helpers
 * above would not send: a chosen Content-Type, a malformed body, a method of one's own.
 */
export async function fetchDecoded(target: string, init: RequestInit = {}): Promise<WireResponse> {
  const res = await fetch(target, init);
  return (res.headers.get("content-type") ?? "").startsWith("application/octet-stream") ? readCbor(res) : readJson(res);
}
