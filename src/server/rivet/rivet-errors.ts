import type { Logger } from "pino";
import { errors, toPublicError, TroupeError } from "../../common/errors.js";
import { CONTENT_TYPE, encodingFromHeader, httpResponseError, type Encoding } from "../../protocol/rivet/codec.js";
import type { CloseReason } from "../ws-caps.js";

/**
 * Troupe's errors as RivetKit's client reads them. Most pass as they are ({group, code, message,
 * metadata}; a UserError is already group `user`). The few the client acts on are renamed to
 * RivetKit's pairs: `actor/not_found` makes `get` return nothing and a key-resolved handle
 * re-resolve, `actor/stopping` makes it wait and retry.
 */
export function toRivetError(err: unknown): TroupeError {
  const pub = toPublicError(err);
  if (pub.group === "actor" && pub.code === "actor_not_found") return errors.rivetActorNotFound(pub.message.replace(/^Actor not found: /, ""));
  if (pub.group === "actor" && pub.code === "actor_stopping") return errors.rivetActorStopping();
  return pub;
}

function logUnexpected(err: unknown, logger: Logger, path: string): void {
  if (!(err instanceof TroupeError)) logger.error({ err, path }, "unhandled error in RivetKit protocol request");
}

/** An error of the engine-shaped management API (`/actors`, `/metadata`): always JSON. */
export function managementError(err: unknown, logger: Logger, path: string): Response {
  logUnexpected(err, logger, path);
  const e = toRivetError(err);
  return new Response(JSON.stringify(e.toPayload()), { status: e.status, headers: { "content-type": "application/json" } });
}

/**
 * An error of an actor request (`/gateway/...`), in the request's encoding, which the client
 * decodes it in unless the Content-Type says JSON; a bad `x-rivet-encoding` is answered in JSON.
 */
export function gatewayError(err: unknown, encodingHeader: string | undefined, logger: Logger, path: string): Response {
  logUnexpected(err, logger, path);
  const e = toRivetError(err);
  let encoding: Encoding = "json";
  try {
    encoding = encodingFromHeader(encodingHeader);
  } catch {
    // already json
  }
  const body = httpResponseError.encode(encoding, e.toPayload());
  const headers: Record<string, string> = { "content-type": CONTENT_TYPE[encoding] };
  if (e.status === 413) headers.connection = "close";
  return new Response(typeof body === "string" ? body : new Uint8Array(body), { status: e.status, headers });
}

/** A close frame's reason may hold at most 123 bytes; cut on a character boundary. */
function fitCloseReason(text: string): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.byteLength <= 123) return text;
  return new TextDecoder().decode(buf.subarray(0, 123)).replace(/\uFFFD+$/, "");
}

/**
 * A WebSocket close reason as the client parses it, `group.code#…`: it reads what follows `#` as
 * a ray id and only shows it, so that slot carries the message (Troupe has no ray ids).
 */
export const rivetCloseReason: CloseReason = (err) => {
  const e = toRivetError(err);
  return fitCloseReason(`${e.group}.${e.code}#${e.message}`);
};
