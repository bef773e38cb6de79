import Database from "better-sqlite3";
import { tableCounts } from "./table-counts.js";
import { keyToString } from "../common/key.js";
import type { ActorDatabase, ActorStore, ListQuery } from "./driver.js";
import type { ActorRecord, KvRange, StoreWrite, StoredAlarm, StoredMessage } from "./types.js";

/** Keeps everything in process memory: for tests and throwaway servers, never durable. */
export class MemoryStore implements ActorStore {
  readonly kind = "memory";
  private readonly records = new Map<string, ActorRecord>();
  private readonly byKey = new Map<string, string>();
  private readonly states = new Map<string, Uint8Array>();
  /** Per actor: hex-encoded key -> [key, value]; hex keeps bytewise order when sorted as strings. */
  private readonly kv = new Map<string, Map<string, [Uint8Array, Uint8Array]>>();
  private readonly alarms = new Map<string, StoredAlarm>();
  /** Each actor database's committed image: a connection starts from it and sees only what committed. */
  private readonly images = new Map<string, Buffer>();
  /** seq -> message (with its dead flag). */
  private readonly messages = new Map<number, StoredMessage & { dead: boolean }>();
  private readonly sqlSeqs = new Map<string, number>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined> {
    const id = this.byKey.get(indexKey(name, key));
    return id === undefined ? undefined : this.records.get(id);
  }

  async findById(id: string): Promise<ActorRecord | undefined> {
    return this.records.get(id);
  }

  async loadState(id: string): Promise<Uint8Array | undefined> {
    const state = this.states.get(id);
    // As in the SQLite store: empty bytes are no state (encoded state never is empty).
    return state && state.byteLength > 0 ? state : undefined;
  }

  async kvGet(actorId: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.kv.get(actorId)?.get(hex(key))?.[1];
  }

  async kvList(actorId: string, range: KvRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    const m = this.kv.get(actorId);
    if (!m) return [];
    const start = range.start && hex(range.start);
    const end = range.end && hex(range.end);
    const keys = [...m.keys()].filter((k) => (start === undefined || k >= start) && (end === undefined || k < end)).sort();
    if (range.reverse) keys.reverse();
    return keys.slice(0, range.limit ?? keys.length).map((k) => m.get(k)!);
  }

  async loadMessages(actorId: string): Promise<StoredMessage[]> {
    return [...this.messages.values()].filter((m) => m.actorId === actorId && !m.dead).sort((a, b) => a.seq - b.seq).map(({ dead: _dead, ...m }) => m);
  }

  async queueBacklog(): Promise<Array<{ actorId: string; actorName: string; queue: string; count: number }>> {
    const counts = new Map<string, { actorId: string; actorName: string; queue: string; count: number }>();
    for (const m of this.messages.values()) {
      if (m.dead) continue;
      const k = `${m.actorId}\u0000${m.queue}`;
      const e = counts.get(k) ?? { actorId: m.actorId, actorName: this.records.get(m.actorId)?.name ?? "", queue: m.queue, count: 0 };
      e.count++;
      counts.set(k, e);
    }
    return [...counts.values()];
  }

  async maxMessageSeq(): Promise<number> {
    let max = 0;
    for (const seq of this.messages.keys()) if (seq > max) max = seq;
    return max;
  }

  async listActors(q: ListQuery): Promise<ActorRecord[]> {
    const prefix = q.keyPrefix && q.keyPrefix.length > 0 ? keyToString([...q.keyPrefix]).slice(0, -2) : undefined;
    return [...this.records.values()]
      .filter((r) => (q.name === undefined || r.name === q.name) && (prefix === undefined || keyToString(r.key).startsWith(prefix)) && (q.afterId === undefined || r.id > q.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, q.limit);
  }

  async databaseTables(actorId: string): Promise<Array<{ name: string; rows: number }>> {
    const image = this.images.get(actorId);
    if (!image) return [];
    const db = new Database(image, { readonly: true });
    try {
      return tableCounts(db);
    } finally {
      db.close();
    }
  }

  /** A private in-memory connection from the committed image, as a file connection would be. */
  /** A private in-memory connection from the committed image, as a file connection would be. */
  async openDatabase(actorId: string): Promise<ActorDatabase> {
    const image = this.images.get(actorId);
    const db = image ? new Database(image) : new Database(":memory:");
    db.pragma("trusted_schema = OFF");
    if (!image) this.images.set(actorId, db.serialize());
    return {
      connection: db,
      // The committed image is what later connections start from; a deleted actor's stays gone.
      committed: () => {
        if (this.images.has(actorId)) this.images.set(actorId, db.serialize());
      },
      close: async () => {
        if (db.open) db.close();
      },
    };
  }

  async deleteDatabase(actorId: string): Promise<void> {
    this.images.delete(actorId);
  }

  async sqlApplied(actorId: string): Promise<number> {
    return this.sqlSeqs.get(actorId) ?? 0;
  }

  async hasDatabase(actorId: string): Promise<boolean> {
    return this.images.has(actorId);
  }

  async loadAlarms(): Promise<StoredAlarm[]> {
    return [...this.alarms.values()];
  }

  /** All or nothing, as the SQLite store's transaction: a taken exclusive key refuses the batch before any of it applies. */
  private checkExclusive(batch: readonly StoreWrite[]): void {
    const taken = new Map<string, boolean>();
    const isTaken = (k: string): boolean => taken.get(k) ?? this.byKey.has(k);
    for (const w of batch) {
      if (w.kind === "create") {
        const k = indexKey(w.record.name, w.record.key);
        if (isTaken(k)) {
          if (w.exclusive) throw new Error(`MemoryStore: the key of ${w.record.name} ${keyToString([...w.record.key])} is taken`);
          continue;
        }
        taken.set(k, true);
      } else if (w.kind === "destroy") {
        const rec = this.records.get(w.actorId);
        if (rec) taken.set(indexKey(rec.name, rec.key), false);
      }
    }
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    if (batch.some((w) => w.kind === "create" && w.exclusive)) this.checkExclusive(batch);
    for (const w of batch) {
      if (w.kind === "create") {
        if (this.byKey.has(indexKey(w.record.name, w.record.key))) continue;
        this.records.set(w.record.id, w.record);
        this.byKey.set(indexKey(w.record.name, w.record.key), w.record.id);
      } else if (w.kind === "state") {
        if (this.records.has(w.actorId)) this.states.set(w.actorId, w.state);
      } else if (w.kind === "destroy") {
        const rec = this.records.get(w.actorId);
        if (rec) this.byKey.delete(indexKey(rec.name, rec.key));
        this.records.delete(w.actorId);
        this.states.delete(w.actorId);
        this.kv.delete(w.actorId);
        this.sqlSeqs.delete(w.actorId);
        for (const [id, a] of this.alarms) if (a.actorId === w.actorId) this.alarms.delete(id);
        for (const [seq, m] of this.messages) if (m.actorId === w.actorId) this.messages.delete(seq);
      } else if (w.kind === "kvPut") {
        // Data for an actor not in the directory (destroyed meanwhile) would be an orphan nobody reads.
        if (!this.records.has(w.actorId)) continue;
        let m = this.kv.get(w.actorId);
        if (!m) this.kv.set(w.actorId, (m = new Map()));
        m.set(hex(w.key), [w.key, w.value]);
      } else if (w.kind === "kvDelete") this.kv.get(w.actorId)?.delete(hex(w.key));
      else if (w.kind === "alarmSet") {
        if (this.records.has(w.actorId)) this.alarms.set(w.alarm.id, w.alarm);
      }
      else if (w.kind === "queuePush") {
        // A message for an actor destroyed meanwhile would be an orphan nobody reads.
        if (this.records.has(w.actorId)) this.messages.set(w.message.seq, { ...w.message, dead: false });
      }
      else if (w.kind === "queueAck") {
        if (this.messages.get(w.seq)?.actorId === w.actorId) this.messages.delete(w.seq);
      } else if (w.kind === "sqlApplied") {
        if (this.records.has(w.actorId) && w.seq > (this.sqlSeqs.get(w.actorId) ?? 0)) this.sqlSeqs.set(w.actorId, w.seq);
      } else if (w.kind === "queueRetry") {
        const m = this.messages.get(w.seq);
        if (m?.actorId === w.actorId) Object.assign(m, { attempts: w.attempts, availableAt: w.availableAt, dead: w.dead });
      }
      else if (this.alarms.get(w.alarmId)?.actorId === w.actorId) this.alarms.delete(w.alarmId);
    }
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function indexKey(name: string, key: readonly string[]): string {
  return `${name}\u0000${keyToString([...key])}`;
}
