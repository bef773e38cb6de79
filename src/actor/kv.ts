import { errors } from "../common/errors.js";
import type { StorageDriver } from "../storage/driver.js";
import type { StoreWrite } from "../storage/types.js";
import type { KvOp, KvOpMetrics } from "./metrics-port.js";
import { assertStorable, cbor } from "./state-codec.js";

export type KvKey = string | Uint8Array;

/** Stated limits, enforced with kv_limit_exceeded errors. */
export const KV_LIMITS = { maxKeyBytes: 2048, maxValueBytes: 128 * 1024, maxBatch: 128, maxListLimit: 10_000, defaultListLimit: 1000 } as const;

// The label vocabulary lives with the metrics port, which must not import the capabilities it counts.
export { KV_OPS, type KvOp } from "./metrics-port.js";

export interface KvListOptions {
  prefix?: KvKey;
  /** Inclusive. */
  start?: KvKey;
  /** Exclusive. */
  end?: KvKey;
  limit?: number;
  reverse?: boolean;
}

/** What the KV needs from its actor instance: the store for reads, and a place to stage writes. */
export interface KvHost {
  readonly id: string;
  readonly storage: Pick<StorageDriver, "kvGet" | "kvList">;
  /** Writes staged by this and earlier turns that are not yet known durable; null marks a delete. */
  readonly kvOverlay: ReadonlyMap<string, Uint8Array | null> | undefined;
  stage(write: StoreWrite, overlayKey?: string, overlayValue?: Uint8Array | null): void;
  readonly kvMetrics: ((op: KvOp) => KvOpMetrics) | undefined;
}

// String keys and byte keys live in one ordered keyspace: a type byte, then the key's bytes.
// All byte keys sort before all string keys; within a kind, order is bytewise (UTF-8 for strings).
const BYTES = 0x00;
const STRING = 0x01;

export function encodeKey(key: KvKey): Uint8Array {
  let body: Uint8Array;
  let tag: number;
  if (typeof key === "string") {
    if (!key.isWellFormed()) throw kvError("a string key must be well-formed UTF-16");
    body = Buffer.from(key, "utf8");
    tag = STRING;
  } else if (key instanceof Uint8Array) {
    body = key;
    tag = BYTES;
  } else throw kvError("keys must be strings or Uint8Arrays");
  if (body.byteLength > KV_LIMITS.maxKeyBytes) throw kvError(`a key is ${body.byteLength} bytes; the limit is ${KV_LIMITS.maxKeyBytes}`);
  const out = new Uint8Array(body.byteLength + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

export function decodeKey(b: Uint8Array): KvKey {
  const body = b.subarray(1);
  return b[0] === STRING ? Buffer.from(body).toString("utf8") : new Uint8Array(body);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function encodeValue(value: unknown): Uint8Array {
  assertStorable(value, "value");
  const bytes = cbor.encode(value);
  if (bytes.byteLength > KV_LIMITS.maxValueBytes) throw kvError(`a value encodes to ${bytes.byteLength} bytes; the limit is ${KV_LIMITS.maxValueBytes}`);
  return bytes;
}

function kvError(message: string) {
  return errors.kvLimitExceeded(message);
}

/** The smallest key greater than every key starting with `prefix`, or undefined if none. */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/**
 * `c.kv`: a durable per-actor key-value store. Writes are staged with the current turn and
 * commit with its state (same transaction, same output gate); reads see the actor's own
 * staged writes. A turn that throws drops its writes.
 */
export class ActorKv {
  constructor(private readonly host: KvHost) {}

  async get<T = unknown>(key: KvKey): Promise<T | undefined> {
    return this.timed("get", async () => this.read(encodeKey(key)) as Promise<T | undefined>);
  }

  async getBatch<T = unknown>(keys: readonly KvKey[]): Promise<Array<T | undefined>> {
    return this.timed("get_batch", async () => {
      this.checkBatch(keys.length);
      return Promise.all(keys.map((k) => this.read(encodeKey(k)) as Promise<T | undefined>));
    });
  }

  async put(key: KvKey, value: unknown): Promise<void> {
    return this.timed("put", async () => this.write(encodeKey(key), encodeValue(value)));
  }

  async putBatch(entries: ReadonlyArray<readonly [KvKey, unknown]>): Promise<void> {
    return this.timed("put_batch", async () => {
      this.checkBatch(entries.length);
      const encoded = entries.map(([k, v]) => [encodeKey(k), encodeValue(v)] as const);
      for (const [k, v] of encoded) this.write(k, v);
    });
  }

  async delete(key: KvKey): Promise<void> {
    return this.timed("delete", async () => this.write(encodeKey(key), null));
  }

  async deleteBatch(keys: readonly KvKey[]): Promise<void> {
    return this.timed("delete_batch", async () => {
      this.checkBatch(keys.length);
      const encoded = keys.map(encodeKey);
      for (const k of encoded) this.write(k, null);
    });
  }

  /** Entries in key order (or reverse), as [key, value] pairs. */
  async list<T = unknown>(opts: KvListOptions = {}): Promise<Array<[KvKey, T]>> {
    return this.timed("list", async () => {
      const limit = opts.limit ?? KV_LIMITS.defaultListLimit;
      if (!Number.isInteger(limit) || limit < 0 || limit > KV_LIMITS.maxListLimit) throw kvError(`list limit must be an integer from 0 to ${KV_LIMITS.maxListLimit}`);
      let lower: Uint8Array | undefined = opts.start === undefined ? undefined : encodeKey(opts.start);
      let upper: Uint8Array | undefined = opts.end === undefined ? undefined : encodeKey(opts.end);
      if (opts.prefix !== undefined) {
        const p = encodeKey(opts.prefix);
        if (!lower || compare(p, lower) > 0) lower = p;
        const pe = prefixEnd(p);
        if (pe && (!upper || compare(pe, upper) < 0)) upper = pe;
      }
      const inRange = (k: Uint8Array) => (!lower || compare(k, lower) >= 0) && (!upper || compare(k, upper) < 0);
      const overlay = [...(this.host.kvOverlay ?? [])].map(([h, v]) => [Buffer.from(h, "hex"), v] as const).filter(([k]) => inRange(k));
      // Ask the store for enough rows that overlay deletions cannot starve the page.
      const rows = await this.host.storage.kvList(this.host.id, { start: lower, end: upper, limit: limit + overlay.length, reverse: opts.reverse });
      const merged = new Map<string, [Uint8Array, Uint8Array]>(rows.map(([k, v]) => [hex(k), [k, v]]));
      for (const [k, v] of overlay) {
        if (v === null) merged.delete(hex(k));
        else merged.set(hex(k), [k, v]);
      }
      const sorted = [...merged.values()].sort((a, b) => compare(a[0], b[0]));
      if (opts.reverse) sorted.reverse();
      return sorted.slice(0, limit).map(([k, v]) => [decodeKey(k), cbor.decode(v) as T]);
    });
  }

  private async read(key: Uint8Array): Promise<unknown> {
    const staged = this.host.kvOverlay?.get(hex(key));
    if (staged === null) return undefined;
    const bytes = staged ?? (await this.host.storage.kvGet(this.host.id, key));
    return bytes === undefined ? undefined : cbor.decode(bytes);
  }

  private write(key: Uint8Array, value: Uint8Array | null): void {
    const h = hex(key);
    if (value === null) this.host.stage({ kind: "kvDelete", actorId: this.host.id, key }, h, null);
    else this.host.stage({ kind: "kvPut", actorId: this.host.id, key, value }, h, value);
  }

  private checkBatch(n: number): void {
    if (n > KV_LIMITS.maxBatch) throw kvError(`a batch has ${n} entries; the limit is ${KV_LIMITS.maxBatch}`);
  }

  /** Counts every call, refused ones included, and times it. */
  private async timed<T>(op: KvOp, fn: () => Promise<T>): Promise<T> {
    const m = this.host.kvMetrics?.(op);
    const t = performance.now();
    try {
      return await fn();
    } finally {
      m?.count.inc();
      m?.duration.observe((performance.now() - t) / 1000);
    }
  }
}

