import { errors } from "../../common/errors.js";
import { encodingFromHeader, type Encoding } from "../../protocol/rivet/codec.js";
import { paramsText, parseParams } from "../conn-params.js";

/**
 * What a RivetKit client says in `Sec-WebSocket-Protocol` (docs/notes-rivet-protocol.md):
 *   rivet                              the protocol itself; the server answers with it
 *   rivet_encoding.<json|cbor|bare>    the frames' encoding (absent: json, as rivetkit's server)
 *   rivet_conn_params.<url-encoded JSON>  the params onBeforeConnect sees
 *   rivet_token.*, rivet_target.*, rivet_actor.*, rivet_skip_ready_wait, rivet_test_ack_hook.*
 *                                      accepted and ignored (see options.ts)
 */
export const RIVET_SUBPROTOCOL = "rivet";
const ENCODING_PREFIX = "rivet_encoding.";
const PARAMS_PREFIX = "rivet_conn_params.";

export interface RivetSocketSetup {
  encoding: Encoding;
  params: unknown;
}

export function offeredProtocols(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  return text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

/** Throws request/invalid or encoding/invalid for what the client could not have meant. */
export function readRivetProtocols(headers: Record<string, string | string[] | undefined>): RivetSocketSetup {
  let encoding: string | undefined;
  let paramsRaw: string | undefined;
  for (const p of offeredProtocols(headers["sec-websocket-protocol"])) {
    if (p.startsWith(ENCODING_PREFIX)) encoding = p.slice(ENCODING_PREFIX.length);
    else if (p.startsWith(PARAMS_PREFIX)) paramsRaw = p.slice(PARAMS_PREFIX.length);
  }
  let text = paramsText(headers);
  if (paramsRaw !== undefined) {
    try {
      text = decodeURIComponent(paramsRaw);
    } catch {
      throw errors.rivetInvalidRequest("rivet_conn_params is not valid URL encoding");
    }
  }
  let params: unknown;
  try {
    params = parseParams(text);
  } catch {
    throw errors.rivetInvalidRequest("rivet_conn_params is not valid JSON");
  }
  return { encoding: encodingFromHeader(encoding), params };
}
