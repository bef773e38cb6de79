/**
 * RivetKit's `$`-tagged value conventions, ported from rivetkit 2.3.19's
 * src/common/encoding.ts (dist/tsup/chunk-DN6MD3KK.js) so values cross the wire the way its
 * client writes and reads them:
 *
 *   bigint       ["$BigInt", "123"]
 *   Uint8Array   ["$Uint8Array", "<base64>"]     ArrayBuffer ["$ArrayBuffer", "<base64>"]
 *   undefined    ["$Undefined", 0]               Set         ["$Set", [...items]]
 *   a user array of two items whose first is a string starting with "$" gets one more "$"
 *   (["$x", 1] travels as ["$$x", 1]); any other `$` tag is refused when read.
 *
 * Two writers exist because the client has two: `encodeJsonCompat` (a value tree, used before
 * CBOR-encoding a BARE `Cbor` field) and `jsonStringifyCompat` (a JSON.stringify replacer, used for
 * whole JSON messages). They agree on bigint, bytes and `$` escaping; only the first knows
 * undefined and Set. Both are reproduced as they are, quirks included.
 */

const BIGINT = "$BigInt";
const ARRAY_BUFFER = "$ArrayBuffer";
const UINT8_ARRAY = "$Uint8Array";
const UNDEFINED = "$Undefined";
const SET = "$Set";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Typed arrays other than Uint8Array: cbor-x writes them natively, so they pass through. */
function isOtherTypedArray(value: unknown): boolean {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof Uint8Array);
}

/** A 2-item array whose first item is a `$` string: the shape the tags use. */
function isTagShaped(value: unknown): value is [string, unknown] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && value[0].startsWith("$");
}

// As rivetkit: btoa to write (standard alphabet, padded), Buffer to read where there is one (it is
// lenient: it skips characters outside the alphabet), atob elsewhere (a browser).
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array {
  if (typeof Buffer !== "undefined") return new Uint8Array(Buffer.from(base64, "base64"));
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** rivetkit's encodeJsonCompatValue: a value tree with the tags applied, ready for JSON or CBOR. */
export function encodeJsonCompat(input: unknown): unknown {
  if (input === null) return null;
  if (input === undefined) return [UNDEFINED, 0];
  if (typeof input === "string" || typeof input === "number" || typeof input === "boolean") return input;
  if (typeof input === "bigint") return [BIGINT, input.toString()];
  if (input instanceof ArrayBuffer) return [ARRAY_BUFFER, bytesToBase64(new Uint8Array(input))];
  if (input instanceof Uint8Array) return [UINT8_ARRAY, bytesToBase64(input)];
  if (isOtherTypedArray(input) || input instanceof Date || input instanceof RegExp || input instanceof Error) return input;
  if (input instanceof Set) return [SET, [...input].map(encodeJsonCompat)];
  if (input instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of input) out.set(encodeJsonCompat(k), encodeJsonCompat(v));
    return out;
  }
  if (Array.isArray(input)) {
    const encoded = input.map(encodeJsonCompat);
    // Checked after encoding, as rivetkit does: a tag produced for item 0 is an array, not a string.
    return isTagShaped(encoded) ? [`$${encoded[0]}`, encoded[1]] : encoded;
  }
  if (isPlainObject(input)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) out[k] = encodeJsonCompat(v);
    return out;
  }
  const name = (input as object).constructor?.name ?? typeof input;
  throw new TypeError(`Value of type "${name}" is not CBOR serializable`);
}

export interface ReviveOptions {
  /** Turn bigints that fit a safe integer into numbers (rivetkit's decodeCborJsonCompat). */
  coerceSafeIntegerBigInts?: boolean;
}

/**
 * rivetkit's reviveJsonCompatValue: undoes the tags on a parsed JSON or decoded CBOR tree. It
 * copies only the objects and arrays on the way to a tag and shares the rest with its input, which
 * therefore must not change afterwards (a decoded tree nobody else holds); most frames carry no tag
 * below their envelope, and copying all of them showed in the profile of every call.
 */
export function reviveJsonCompat(input: unknown, options: ReviveOptions = {}): unknown {
  if (typeof input === "bigint") {
    const safe = input >= BigInt(Number.MIN_SAFE_INTEGER) && input <= BigInt(Number.MAX_SAFE_INTEGER);
    return options.coerceSafeIntegerBigInts && safe ? Number(input) : input;
  }
  if (input === null || typeof input !== "object") return input;
  if (input instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of input) out.set(reviveJsonCompat(k, options), reviveJsonCompat(v, options));
    return out;
  }
  if (Array.isArray(input)) {
    if (isTagShaped(input)) {
      const [tag, val] = input;
      if (tag === BIGINT) return BigInt(val as string);
      if (tag === ARRAY_BUFFER) return base64ToBytes(val as string).buffer;
      if (tag === UINT8_ARRAY) return base64ToBytes(val as string);
      if (tag === UNDEFINED) return undefined;
      if (tag === SET) return new Set((val as unknown[]).map((v) => reviveJsonCompat(v, options)));
      if (tag.startsWith("$$")) return [tag.substring(1), reviveJsonCompat(val, options)];
      throw new Error(`Unknown JSON encoding type: ${tag}. This may indicate corrupted data or a version mismatch.`);
    }
    return mapShared(input, reviveJsonCompat, options);
  }
  return isPlainObject(input) ? mapShared(input, reviveJsonCompat, options) : input;
}

const STOP = Symbol("stop");

/**
 * The array or plain object with `f(item, arg)` applied to each item, sharing the input itself
 * when `f` changed nothing and copying it only from the first change on. STOP from `f` stops at
 * once. `arg` is passed through rather than closed over: no closure per object of every frame.
 */
function mapShared<T extends unknown[] | Record<string, unknown>, A>(input: T, f: (v: unknown, arg: A) => unknown, arg: A): T | typeof STOP {
  if (Array.isArray(input)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < input.length; i++) {
      const v: unknown = input[i];
      const r = f(v, arg);
      if (r === STOP) return STOP;
      if (out) out.push(r);
      else if (r !== v) (out = input.slice(0, i)).push(r);
    }
    return (out ?? input) as T;
  }
  const obj = input as Record<string, unknown>;
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k];
    const r = f(v, arg);
    if (r === STOP) return STOP;
    if (out) out[k] = r;
    else if (r !== v) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
      out[k] = r;
    }
  }
  return (out ?? input) as T;
}

/**
 * rivetkit's jsonStringifyCompat, the client's JSON writer. JSON.stringify calls toJSON before the
 * replacer, so a Node Buffer goes out as {"type":"Buffer","data":[...]}, as it does from the client.
 */
export function jsonStringifyCompat(input: unknown, space?: string | number): string {
  // A replacer takes JSON.stringify off its fast path; a tree of plain data is tagged beforehand.
  const tagged = tagPlain(input, 0);
  if (tagged !== STOP) return JSON.stringify(tagged, undefined, space);
  return JSON.stringify(
    input,
    (_key, value: unknown) => {
      if (typeof value === "bigint") return [BIGINT, value.toString()];
      if (value instanceof ArrayBuffer) return [ARRAY_BUFFER, bytesToBase64(new Uint8Array(value))];
      if (value instanceof Uint8Array) return [UINT8_ARRAY, bytesToBase64(value)];
      if (isTagShaped(value)) return [`$${value[0]}`, value[1]];
      return value;
    },
    space,
  );
}

/** rivetkit's jsonParseCompat, the client's JSON reader. */
export function jsonParseCompat(text: string): unknown {
  return reviveJsonCompat(JSON.parse(text));
}

/** Deeper than this, tagPlain leaves the value to the replacer (which also meets any cycle). */
const TAG_DEPTH = 64;

/**
 * What jsonStringifyCompat's replacer makes of plain data (bigints, tag-shaped arrays, plain
 * objects, arrays, primitives), sharing what it leaves alone; STOP for anything else
 * (bytes, Map, a `toJSON`, whose result the replacer would see), left to the replacer itself.
 */
function tagPlain(input: unknown, depth: number): unknown {
  if (typeof input === "bigint") return [BIGINT, input.toString()];
  if (input === null || typeof input !== "object") return input;
  if (depth > TAG_DEPTH) return STOP;
  if (Array.isArray(input)) {
    if (isTagShaped(input)) {
      const val = tagPlain(input[1], depth + 1);
      return val === STOP ? val : [`$${input[0]}`, val];
    }
    return mapShared(input, tagPlain, depth + 1);
  }
  if (Object.getPrototypeOf(input) !== Object.prototype || typeof (input as { toJSON?: unknown }).toJSON === "function") return STOP;
  return mapShared(input as Record<string, unknown>, tagPlain, depth + 1);
}
