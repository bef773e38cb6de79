import { decode as cborDecode, encode as cborEncode } from "cbor-x";
import { bytesToBase64, encodeJsonCompat, jsonParseCompat, jsonStringifyCompat, reviveJsonCompat } from "./protocol/json-compat.js";

/**
 * The client's side of the wire (docs/PROTOCOL.md), written as RivetKit's client writes it so a
 * Troupe server reads both alike: json is JSON text with the `$` conventions (bigint, bytes, `$`
 * escaping); cbor is the plain value. The server's answers carry `$`-tagged values in both, and
 * are revived here.
 */
export type Encoding = "json" | "cbor";

export const CONTENT_TYPE: Readonly<Record<Encoding, string>> = { json: "application/json", cbor: "application/octet-stream" };

export function encodeMessage(value: unknown, encoding: Encoding): string | Uint8Array {
  // A copy: cbor-x hands out views into a buffer it reuses, and a send may read it later.
  return encoding === "cbor" ? new Uint8Array(cborEncode(value)) : jsonStringifyCompat(value);
}

const utf8 = new TextDecoder();

/** A server message; text is always JSON (errors about the encoding itself are answered in JSON). */
export function decodeMessage(data: Uint8Array | string, encoding: Encoding): unknown {
  if (typeof data === "string") return jsonParseCompat(data);
  if (data.byteLength === 0) return undefined;
  return encoding === "cbor" ? reviveJsonCompat(cborDecode(data)) : jsonParseCompat(utf8.decode(data));
}

/** Actor input as `PUT`/`POST /actors` carries it: base64 of the `$`-tagged value's CBOR. */
export function encodeInput(input: unknown): string {
  return bytesToBase64(new Uint8Array(cborEncode(encodeJsonCompat(input))));
}
