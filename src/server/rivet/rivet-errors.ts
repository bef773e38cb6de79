import type { Logger } from "pino";
import { errors, toPublicError, TroupeError } from "../../common/errors.js";
import { CONTENT_TYPE, encodingFromHeader, httpResponseError, type Encoding } from "../../protocol/rivet/codec.js";

function logUnexpected(err: unknown, logger: Logger, path: string): void {
  if (!(err instanceof TroupeError)) logger.error({ err, path }, "unhandled error in RivetKit protocol request");
}

/** An error of the engine-shaped management API (`/actors`, `/metadata`): always JSON. */
export function managementError(err: unknown, logger: Logger, path: string): Response {
  logUnexpected(err, logger, path);
  const e = toPublicError(err);
  const headers: Record<string, string> = { "content-type": "application/json" };
  // A 413 answers before the body was read: the connection cannot carry another request.
  if (e.status === 413) headers.connection = "close";
  return new Response(JSON.stringify(e.toPayload()), { status: e.status, headers });
}

/**
 * An error of an actor request (`/gateway/...`), in the request's encoding, which the client
 * decodes it in unless the Content-Type says JSON; a bad `x-rivet-encoding` is answered in JSON.
 */
export function gatewayError(err: unknown, encodingHeader: string | undefined, logger: Logger, path: string): Response {
  logUnexpected(err, logger, path);
  const e = toPublicError(err);
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
