import assert from "node:assert/strict";
import { test } from "node:test";
import type { ActorDatabase, StorageDriver } from "../../src/storage/driver.js";
import type { PlacementDriver, PlacementRuntime } from "../../src/storage/placement.js";
import type { ActorRecord, StoreWrite, StoredAlarm, StoredMessage } from "../../src/storage/types.js";

/**
 * The tests every driver pair must pass, through the two interfaces only: an engine driver
 * joins by adding a `driverSuite(...)` call, so nothing here may know a driver's internals.
 */
export interface DriverPair {
  storage: StorageDriver;
  placement: PlacementDriver;
  /** Drains pending writes and closes both drivers. */
  close(): Promise<void>;
  /** A fresh pair over the same data, called after `close()`; absent when the data dies with the process. */
  reopen?(): Promise<DriverPair>;
}

export const bytes = (s: string) => new Uint8Array(Buffer.from(s));
export const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("hex"));
export const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());
/** Records compared by value: drivers may hand back Buffers or Uint8Arrays. */
export const norm = (r: ActorRecord | undefined) => r && { id: r.id, name: r.name, key: [...r.key], createdAt: r.createdAt, input: hex(r.input) };
export const ids = (rs: ActorRecord[]) => rs.map((r) => r.id);
export const sorted = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
export const msg = (seq: number, actorId: string, queue = "q"): StoredMessage => ({ seq, actorId, queue, body: bytes(`m${seq}`), enqueuedAt: 100 + seq, attempts: 0, availableAt: 200 + seq });
export const push = (m: StoredMessage): StoreWrite => ({ kind: "queuePush", actorId: m.actorId, message: m });
export const alarm = (id: string, actorId: string, fireAt = 5): StoredAlarm => ({ id, actorId, actorName: "t", fireAt, action: "tick", args: bytes(`[${id}]`) });
/** One of each kind of data an actor owns. */
export const everything = (id: string, seq: number): StoreWrite[] => [
  { kind: "state", actorId: id, state: bytes(`s-${id}`) },
  { kind: "kvPut", actorId: id, key: bytes("k"), value: bytes(id) },
  { kind: "alarmSet", actorId: id, alarm: alarm(`al-${id}`, id) },
  push(msg(seq, id)),
  { kind: "sqlApplied", actorId: id, seq: 3 },
];
/** Runs SQL and reports the commit, as the runtime does after each COMMIT. */
export const commit = (db: ActorDatabase, sql: string) => (db.connection.exec(sql), db.committed());
export const rows = (db: ActorDatabase, sql: string) => db.connection.prepare(sql).all();
/** Opens the actor's database for `fn` and always closes it. */
export async function withDb<T>(p: DriverPair, actorId: string, fn: (db: ActorDatabase) => T | Promise<T>): Promise<T> {
  const db = await p.storage.openDatabase(actorId);
  return Promise.resolve().then(() => fn(db)).finally(() => db.close());
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const NO_REOPEN = "this driver keeps nothing across a restart: durability does not apply";

/** The registration helpers every case file uses, bound to one driver's `make`. */
export function suiteTools(make: () => Promise<DriverPair>) {
  const it = (title: string, fn: (p: DriverPair) => Promise<void>) =>
    test(title, async () => {
      const p = await make();
      await fn(p).finally(() => p.close());
    });
  /** Writes with one pair, closes it, then checks with a pair reopened over the same data. */
  const durable = <T>(title: string, before: (p: DriverPair) => Promise<T>, after: (p: DriverPair, v: T) => Promise<void>) =>
    test(title, async (t) => {
      const first = await make();
      if (!first.reopen) {
        await first.close();
        return t.skip(NO_REOPEN);
      }
      const v = await before(first).finally(() => first.close());
      const p = await first.reopen();
      await after(p, v).finally(() => p.close());
    });
  const create = async (p: DriverPair, actorName: string, key: string[], input?: Uint8Array) => {
    const { record, created } = await p.placement.create({ name: actorName, key, input });
    assert.equal(created, true, `create ${actorName} ${JSON.stringify(key)}`);
    return record.id;
  };
  /** A runtime that records its starts; set `fail` to make them reject. */
  const runtime = () => {
    const r = { starts: [] as string[], fail: undefined as Error | undefined };
    const rt: PlacementRuntime = {
      start: async (id) => {
        r.starts.push(id);
        if (r.fail) throw r.fail;
      },
      stop: async () => {},
    };
    return { r, rt };
  };
  return { it, durable, create, runtime };
}

export type SuiteTools = ReturnType<typeof suiteTools>;
