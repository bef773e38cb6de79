import { errors, TroupeError } from "../../common/errors.js";
import { CONTENT_TYPE, httpActionRequest, httpActionResponse, httpQueueSendRequest, httpQueueSendResponse, type Encoding } from "../../protocol/rivet/codec.js";
import type { HttpQueueSendResponse } from "../../protocol/rivet/messages.js";
import type { ActorGateway } from "../../runtime/gateway.js";
import { connParams } from "../conn-params.js";
import { byteSize, readLimited } from "./body.js";

/**
 * The actor requests a RivetKit handle sends through the gateway, once the actor is known:
 *   POST /action/{name}   HttpActionRequest → HttpActionResponse
 *   POST /queue/{name}    HttpQueueSendRequest → HttpQueueSendResponse
 *   any  /request/{path}  the actor's onRequest
 * Each goes through the ActorGateway with the caller's params (`x-rivet-conn-params`), so it
 * passes the same readiness, auth hook and timeouts as every other way in.
 */

/** A queue wait longer than this is a mistake; Troupe's own API has the same bound. */
const MAX_QUEUE_TIMEOUT_MS = 600_000;

export interface ActorRequest {
  gw: ActorGateway;
  actorId: string;
  /** The path after the actor's address, still URL-encoded: `/action/x`, `/request/a/b`. */
  rest: string;
  /** The query string left for the actor (without `rvt-*`). */
  search: string;
  request: Request;
  encoding: Encoding;
  maxBodyBytes: number;
  /** Results over this are refused with message/outgoing_too_long. */
  maxResponseBytes: number;
}

function reply(encoding: Encoding, body: string | Uint8Array, limit: number): Response {
  const size = byteSize(body, limit);
  if (size > limit) throw errors.outgoingTooLong(size, limit);
  return new Response(typeof body === "string" ? body : new Uint8Array(body), { status: 200, headers: { "content-type": CONTENT_TYPE[encoding] } });
}

function oneSegment(rest: string, prefix: string): string | undefined {
  if (!rest.startsWith(prefix)) return undefined;
  const raw = rest.slice(prefix.length);
  if (raw === "" || raw.includes("/")) throw errors.routeNotFound();
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.rivetInvalidRequest("the path is not valid URL encoding");
  }
}

/**
 * The types an action or queue send may declare (both clients send one of them). Any other,
 * or none, is refused: text/plain, a form, multipart or an undeclared body is what a page on
 * another site can send without a CORS preflight.
 */
const BODY_TYPES = new Set(["application/json", "application/octet-stream"]);

function requirePost(request: Request): void {
  if (request.method !== "POST") throw errors.methodNotAllowed("POST");
  const mime = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!BODY_TYPES.has(mime)) throw errors.unsupportedMediaType(mime || "(none)");
}

async function action(r: ActorRequest, name: string): Promise<Response> {
  requirePost(r.request);
  const msg = httpActionRequest.decode(r.encoding, await readLimited(r.request, r.maxBodyBytes));
  const output = await r.gw.callAction(r.actorId, name, msg.args, { params: connParams(r.request.headers) });
  return reply(r.encoding, httpActionResponse.encode(r.encoding, { output }), r.maxResponseBytes);
}

async function queueSend(r: ActorRequest, queue: string): Promise<Response> {
  requirePost(r.request);
  const msg = httpQueueSendRequest.decode(r.encoding, await readLimited(r.request, r.maxBodyBytes));
  const timeout = msg.timeout;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_QUEUE_TIMEOUT_MS)) {
    throw errors.rivetInvalidRequest(`timeout must be a whole number of milliseconds from 1 to ${MAX_QUEUE_TIMEOUT_MS}`);
  }
  let answer: HttpQueueSendResponse;
  try {
    // The path names the queue; the body's `name` (always the same from the client) is not consulted.
    const sent = await r.gw.sendMessage(r.actorId, queue, msg.body, { wait: msg.wait ?? false, timeoutMs: timeout, params: connParams(r.request.headers) });
    answer = sent.output === undefined ? { status: "completed", messageId: sent.messageId } : { status: "completed", response: sent.output, messageId: sent.messageId };
  } catch (err) {
    // RivetKit answers a wait that ran out as a result, not an error; the message stays queued.
    if (err instanceof TroupeError && err.group === "queue" && err.code === "queue_wait_timed_out") {
      answer = { status: "timedOut", messageId: (err.metadata as { messageId: number }).messageId };
    } else throw err;
  }
  return reply(r.encoding, httpQueueSendResponse.encode(r.encoding, answer), r.maxResponseBytes);
}

/** Raw HTTP: the actor sees the path after `/request`, with the query string but no `rvt-*`. */
async function rawRequest(r: ActorRequest): Promise<Response> {
  const url = new URL(r.request.url);
  url.pathname = r.rest.slice("/request".length) || "/";
  url.search = r.search;
  const hasBody = r.request.method !== "GET" && r.request.method !== "HEAD";
  const body = hasBody ? await readLimited(r.request, r.maxBodyBytes) : undefined;
  const forwarded = new Request(url, { method: r.request.method, headers: r.request.headers, body: body as BodyInit | undefined });
  return r.gw.handleRequest(r.actorId, forwarded, connParams(r.request.headers));
}

export async function handleActorRequest(r: ActorRequest): Promise<Response> {
  const actionName = oneSegment(r.rest, "/action/");
  if (actionName !== undefined) return action(r, actionName);
  const queue = oneSegment(r.rest, "/queue/");
  if (queue !== undefined) return queueSend(r, queue);
  if (r.rest === "/request" || r.rest.startsWith("/request/")) return rawRequest(r);
  // WebSocket paths over plain HTTP; their upgrades are routed by ws-upgrade.ts.
  if (r.rest === "/connect" || r.rest === "/websocket" || r.rest.startsWith("/websocket/")) throw errors.upgradeRequired();
  throw errors.routeNotFound();
}
