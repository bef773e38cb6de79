import { Encoder } from "cbor-x";
import { errors } from "../common/errors.js";

// Records and structured clones are cbor-x extensions other CBOR readers cannot decode; keep plain CBOR.
const codec = new Encoder({ useRecords: false, structuredClone: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });

/**
 * Refuses what CBOR cannot round-trip faithfully, naming the path, so a bad write
 * fails loudly in the action instead of silently losing data on the next wake.
 */
export function assertStorable(value: unknown, path = "state"): void {
  // Every turn checks its state: the plain walk builds no paths and no Set, and only a value it
  // cannot vouch for is walked again by the one that names what is wrong.
  if (!storable(value, [])) walk(value, path, new Set());
}

/** Deeper than this the quick check gives up (its cycle test is linear in the depth). */
const QUICK_DEPTH = 48;

/** True when `walk` would accept the value; false when it would throw, or the value is too deep to tell cheaply. */
function storable(value: unknown, ancestors: object[]): boolean {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (value instanceof Uint8Array) return true;
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  if (ancestors.length >= QUICK_DEPTH || ancestors.includes(value)) return false;
  ancestors.push(value);
  let ok = true;
  if (Array.isArray(value)) {
    for (let i = 0; ok && i < value.length; i++) ok = storable(value[i], ancestors);
  } else if (value instanceof Map) {
    for (const [k, v] of value) if (!(ok = storable(k, ancestors) && storable(v, ancestors))) break;
  } else if (value instanceof Set) {
    for (const v of value) if (!(ok = storable(v, ancestors))) break;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) ok = false;
    else for (const k of Object.keys(value)) if (!(ok = storable((value as Record<string, unknown>)[k], ancestors))) break;
  }
  ancestors.pop();
  return ok;
}

function walk(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return;
    case "function":
      throw errors.invalidState(`${path} is a function; only data can be stored`);
    case "bigint":
      throw errors.invalidState(`${path} is a bigint; store it as a string or number`);
    case "symbol":
      throw errors.invalidState(`${path} is a symbol; only data can be stored`);
  }
  if (value === null) return;
  const obj = value as object;
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) throw errors.invalidState(`${path} is an invalid Date`);
    return;
  }
  if (obj instanceof Uint8Array) return;
  if (ancestors.has(obj)) throw errors.invalidState(`${path} refers back to one of its parents (a cycle)`);
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) walk(obj[i], `${path}[${i}]`, ancestors);
    } else if (obj instanceof Map) {
      let i = 0;
      for (const [k, v] of obj) {
        walk(k, `${path}<key ${i}>`, ancestors);
        walk(v, `${path}.get(${describeKey(k)})`, ancestors);
        i++;
      }
    } else if (obj instanceof Set) {
      let i = 0;
      for (const v of obj) walk(v, `${path}<item ${i++}>`, ancestors);
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto?.constructor?.name as string | undefined) ?? "unknown";
        throw errors.invalidState(`${path} is an instance of ${name}; use plain objects, arrays, Map, Set, Date or Uint8Array`);
      }
      for (const k of Object.keys(obj)) walk((obj as Record<string, unknown>)[k], `${path}.${k}`, ancestors);
    }
  } finally {
    ancestors.delete(obj);
  }
}

function describeKey(k: unknown): string {
  return typeof k === "string" ? JSON.stringify(k.slice(0, 40)) : String(k).slice(0, 40);
}

export function encodeState(value: unknown): Uint8Array {
  assertStorable(value);
  return codec.encode(value);
}

export function decodeState(bytes: Uint8Array): unknown {
  // cbor-x keeps a DataView on the array it decodes (about 120 bytes): a throwaway view keeps it
  // off the bytes the caller holds (an awake actor holds its last snapshot).
  return codec.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Wire CBOR (HTTP bodies, WebSocket frames) shares the codec so args round-trip like state. */
export const cbor = {
  encode: (v: unknown): Uint8Array => codec.encode(v),
  decode: (b: Uint8Array): unknown => codec.decode(b),
};
