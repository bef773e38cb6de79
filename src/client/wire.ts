import { Encoder } from "cbor-x";

export type Encoding = "json" | "cbor";

const codec = new Encoder({ useRecords: false, structuredClone: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });

export function encodeBody(value: unknown, encoding: Encoding): string | Uint8Array {
  return encoding === "cbor" ? codec.encode(value) : JSON.stringify(value);
}

export function decodeBody(bytes: Uint8Array | string, encoding: Encoding): unknown {
  if (typeof bytes === "string") return JSON.parse(bytes);
  if (bytes.byteLength === 0) return undefined;
  return encoding === "cbor" ? codec.decode(bytes) : JSON.parse(new TextDecoder().decode(bytes));
}

export function mimeOf(encoding: Encoding): string {
  return encoding === "cbor" ? "application/cbor" : "application/json";
}
