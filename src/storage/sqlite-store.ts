import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { keySlot, keyToString } from "../common/key.js";
import type { ActorDatabase, ActorStore, ListQuery } from "./driver.js";
import type { ActorRecord, KvRange, StoreWrite, StoredAlarm, StoredMessage } from "./types.js";
import { CommitThread } from "./commit-thread.js";
import { acquireDirLock, type DirLock } from "./dir-lock.js";
import type { CommitHint } from "./group-commit.js";
import { prepareWrites, smallBatch, type BatchWriter } from "./sqlite-writes.js";
import { KeyFilter } from "./key-filter.js";
import { tableCounts } from "./table-counts.js";

export interface SqliteStoreOptions {
  /** Folder holding troupe.db; created if missing. */
  dataDir: string;
  /**
   * "full" fsyncs every commit (survives power loss); "process" relies on the OS page cache
   * (survives a killed process, not a power cut). See docs/ARCHITECTURE.md.
   */
  durability?: "full" | "process";
}

const SCHEMA_VERSION = 5;

/**
 * Writes committed on this thread between two checkpoints on the commit thread (about a WAL page
 * each). Small, so that after a start the WAL soon wraps: while it grows, each fsync must also
 * write the file's new size, and measured about twice as slow as one overwriting the WAL in place.
 */
const CHECKPOINT_AFTER_WRITES = 256;

/** Stored keys read per slice of the key filter's background scan: about a millisecond of the event loop. */
const KEY_SLICE = 1024;

/**
 * Above this average commit time (a busy disk) even a lone commit goes to the commit thread: the
 * two hand-offs it saves are then under a tenth of the call, and the event loop would stall longer.
 */
const INLINE_MAX_MS = 1;

interface Row {
  id: string;
  name: string;
  key: string;
  created_at: number;
  input: Buffer | null;
}

/**
 * One SQLite database for every actor: a group commit is then one transaction and one
 * fsync for many actors. docs/ARCHITECTURE.md records the measurement behind the choice.
 * Writes run on a commit thread (commit-thread.ts), so the fsync does not stop the event loop;
 * reads use this thread's own connection, which WAL lets read beside the writer. A lone small
 * commit with nothing in flight is made on this connection instead (see `write`).
 */
export class SqliteStore implements ActorStore {
  readonly kind = "sqlite";
  private db: Database.Database | undefined;
  private lock: DirLock | undefined;
  private stmts!: ReturnType<SqliteStore["prepare"]>;
  private commits: CommitThread | undefined;
  private writeBatch!: BatchWriter;
  /** Writes committed here since this connection last asked the commit thread for a checkpoint. */
  private sinceCheckpoint = 0;
  /** Moving average of recent commit times, either thread, ms. */
  private commitMs = 0;
  /** Every key the directory may hold (made by `open`); consulted once `keysReady` (it has read every stored key). */
  private keys!: KeyFilter;
  private keysReady = false;

  constructor(private readonly opts: SqliteStoreOptions) {}

  async open(): Promise<void> {
    fs.mkdirSync(this.opts.dataDir, { recursive: true });
    this.lock = acquireDirLock(this.opts.dataDir);
    try {
      const file = path.join(this.opts.dataDir, "troupe.db");
      const synchronous = this.opts.durability === "process" ? "NORMAL" : "FULL";
      const db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${synchronous}`);
      db.pragma("busy_timeout = 5000");
      // Checkpoints run on the commit thread (see `write`), not on the event loop.
      db.pragma("wal_autocheckpoint = 0");
      migrate(db);
      this.db = db;
      this.stmts = this.prepare(db);
      this.writeBatch = prepareWrites(db);
      this.commits = new CommitThread(file, synchronous);
      // Serving starts once a commit can be made: the first call must not wait for the thread.
      await this.commits.ready;
      this.keys = new KeyFilter();
      this.keysReady = false;
      void this.readKeys(db);
    } catch (err) {
      await this.commits?.close().catch(() => {});
      this.commits = undefined;
      this.db?.close();
      this.db = undefined;
      this.lock.release();
      throw err;
    }
  }

  private prepare(db: Database.Database) {
    return {
      byKey: db.prepare<[string, string], Row>("SELECT id, name, key, created_at, input FROM actors WHERE name = ? AND key = ?"),
      byId: db.prepare<[string], Row>("SELECT id, name, key, created_at, input FROM actors WHERE id = ?"),
      keysFirst: db.prepare<[number]>("SELECT name, key FROM actors ORDER BY name, key LIMIT ?"),
      keysAfter: db.prepare<[string, string, number]>("SELECT name, key FROM actors WHERE (name, key) > (?, ?) ORDER BY name, key LIMIT ?"),
      state: db.prepare<[string], { state: Buffer }>("SELECT state FROM actors WHERE id = ?"),
      kvGet: db.prepare<[string, Uint8Array], { value: Buffer }>("SELECT value FROM kv WHERE actor_id = ? AND key = ?"),
      qLoad: db.prepare<[string], { seq: number; queue: string; body: Buffer; enqueued_at: number; attempts: number; available_at: number }>(
        "SELECT seq, queue, body, enqueued_at, attempts, available_at FROM queue_messages WHERE actor_id = ? AND dead = 0 ORDER BY seq",
      ),
      qBacklog: db.prepare<[], { actor_id: string; name: string; queue: string; n: number }>(
        "SELECT q.actor_id, a.name, q.queue, COUNT(*) AS n FROM queue_messages q JOIN actors a ON a.id = q.actor_id WHERE q.dead = 0 GROUP BY q.actor_id, q.queue",
      ),
      qMaxSeq: db.prepare<[], { m: number | null }>("SELECT MAX(seq) AS m FROM queue_messages"),
      sqlAppliedGet: db.prepare<[string], { applied: number }>("SELECT applied FROM actor_sql WHERE actor_id = ?"),
      alarmsAll: db.prepare<[], { id: string; actor_id: string; actor_name: string; fire_at: number; action: string; args: Buffer }>("SELECT id, actor_id, actor_name, fire_at, action, args FROM alarms"),
    };
  }

  async close(): Promise<void> {
    if (!this.db) return;
    // The commit thread first: it finishes the batches it was sent before its connection closes.
    await this.commits?.close();
    this.commits = undefined;
    this.db.close();
    this.db = undefined;
    this.lock?.release();
    this.lock = undefined;
  }

  async findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined> {
    const text = keyToString(key);
    // A key never written is not stored: a new actor's key costs no B-tree descent.
    if (this.keysReady && !this.keys.mightContain(keySlot(name, text))) return undefined;
    const row = this.stmts.byKey.get(name, text);
    return row && toRecord(row);
  }

  /**
   * Reads the stored keys into the key filter in the background, a slice per turn of the event
   * loop along the (name, key) index, so a start over a million actors is not held up by it. A
   * create is added when it is written (see `write`), so once the scan has passed every stored key
   * the filter has them all. A store closed meanwhile ends the scan; the filter is then never used.
   */
  private async readKeys(db: Database.Database): Promise<void> {
    const filter = this.keys;
    try {
      let rows = this.stmts.keysFirst.raw().all(KEY_SLICE) as Array<[string, string]>;
      for (;;) {
        for (const r of rows) filter.add(keySlot(r[0], r[1]));
        if (rows.length < KEY_SLICE) break;
        const last = rows[rows.length - 1]!;
        await new Promise<void>((r) => setImmediate(r));
        if (this.db !== db || this.keys !== filter) return;
        rows = this.stmts.keysAfter.raw().all(last[0], last[1], KEY_SLICE) as Array<[string, string]>;
      }
      this.keysReady = true;
    } catch {
      // Not ready, so never consulted: every lookup goes to the index, as without a filter.
    }
  }

  async findById(id: string): Promise<ActorRecord | undefined> {
    const row = this.stmts.byId.get(id);
    return row && toRecord(row);
  }

  async loadState(id: string): Promise<Uint8Array | undefined> {
    const state = this.stmts.state.get(id)?.state;
    return state && state.byteLength > 0 ? state : undefined;
  }

  /**
   * A lone small commit (one call's writes, nothing else in flight: `hint.alone`) is made here,
   * before this returns (and then it returns nothing): its fsync holds the event loop while no
   * other commit waits, and the caller is spared the two thread hand-offs and the promise (about a
   * fifth of a sequential call's time). Anything with company, and anything while commits are slow,
   * goes to the commit thread, so under load the event loop keeps running while batches commit.
   * Same transaction and fsync either way.
   */
  write(batch: readonly StoreWrite[], hint?: CommitHint): Promise<void> | void {
    const commits = this.commits;
    if (!commits || !this.db) return Promise.reject(new Error("SqliteStore is not open"));
    // Before the commit is even tried: from here on the key may be stored.
    for (const w of batch) if (w.kind === "create") this.keys.add(keySlot(w.record.name, keyToString(w.record.key)));
    const started = performance.now();
    if (!(hint?.alone === true && this.commitMs <= INLINE_MAX_MS && commits.idle && smallBatch(batch))) {
      return commits.write(batch).then(() => this.timed(started));
    }
    try {
      this.writeBatch(batch);
    } catch (err) {
      return Promise.reject(err);
    }
    this.timed(started);
    this.sinceCheckpoint += batch.length;
    if (this.sinceCheckpoint >= CHECKPOINT_AFTER_WRITES) {
      this.sinceCheckpoint = 0;
      void commits.checkpoint();
    }
  }

  /** Folds a commit's time (either thread) into the moving average. */
  private timed(started: number): void {
    this.commitMs += (performance.now() - started - this.commitMs) / 8;
  }

  async kvGet(actorId: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.stmts.kvGet.get(actorId, key)?.value;
  }

  async kvList(actorId: string, range: KvRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    const where = ["actor_id = ?"];
    const params: unknown[] = [actorId];
    if (range.start) {
      where.push("key >= ?");
      params.push(range.start);
    }
    if (range.end) {
      where.push("key < ?");
      params.push(range.end);
    }
    // BLOBs compare bytewise (memcmp), which is the documented KV order.
    const sql = `SELECT key, value FROM kv WHERE ${where.join(" AND ")} ORDER BY key ${range.reverse ? "DESC" : "ASC"}${range.limit !== undefined ? " LIMIT ?" : ""}`;
    if (range.limit !== undefined) params.push(range.limit);
    const rows = this.open_().prepare(sql).all(...params) as Array<{ key: Buffer; value: Buffer }>;
    return rows.map((r) => [r.key, r.value]);
  }

  async loadMessages(actorId: string): Promise<StoredMessage[]> {
    return this.stmts.qLoad.all(actorId).map((r) => ({ seq: r.seq, actorId, queue: r.queue, body: r.body, enqueuedAt: r.enqueued_at, attempts: r.attempts, availableAt: r.available_at }));
  }

  async queueBacklog(): Promise<Array<{ actorId: string; actorName: string; queue: string; count: number }>> {
    return this.stmts.qBacklog.all().map((r) => ({ actorId: r.actor_id, actorName: r.name, queue: r.queue, count: r.n }));
  }

  async maxMessageSeq(): Promise<number> {
    return this.stmts.qMaxSeq.get()?.m ?? 0;
  }

  async listActors(q: ListQuery): Promise<ActorRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.name !== undefined) {
      where.push("name = ?");
      params.push(q.name);
    }
    if (q.keyPrefix && q.keyPrefix.length > 0) {
      // Keys are stored as JSON arrays; a prefix is the JSON text up to the last part's open end.
      const text = keyToString([...q.keyPrefix]).slice(0, -2);
      where.push("substr(key, 1, length(?)) = ?");
      params.push(text, text);
    }
    if (q.afterId !== undefined) {
      where.push("id > ?");
      params.push(q.afterId);
    }
    params.push(q.limit);
    const sql = `SELECT id, name, key, created_at, input FROM actors ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`;
    return (this.open_().prepare(sql).all(...params) as Row[]).map(toRecord);
  }

  async sqlApplied(actorId: string): Promise<number> {
    return this.stmts.sqlAppliedGet.get(actorId)?.applied ?? 0;
  }

  async hasDatabase(actorId: string): Promise<boolean> {
    return fs.existsSync(path.join(this.opts.dataDir, "actors", `${actorId}.db`));
  }

  async databaseTables(actorId: string): Promise<Array<{ name: string; rows: number }>> {
    const file = path.join(this.opts.dataDir, "actors", `${actorId}.db`);
    if (!fs.existsSync(file)) return [];
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return tableCounts(db);
    } finally {
      db.close();
    }
  }

  async openDatabase(actorId: string): Promise<ActorDatabase> {
    const dir = path.join(this.opts.dataDir, "actors");
    fs.mkdirSync(dir, { recursive: true });
    const db = new Database(path.join(dir, `${actorId}.db`));
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${this.opts.durability === "process" ? "NORMAL" : "FULL"}`);
    db.pragma("trusted_schema = OFF");
    return {
      connection: db,
      // The file is the durable copy: a commit needs nothing more.
      committed: () => {},
      close: async () => {
        if (db.open) db.close();
      },
    };
  }

  async deleteDatabase(actorId: string): Promise<void> {
    const base = path.join(this.opts.dataDir, "actors", `${actorId}.db`);
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(base + suffix, { force: true });
  }

  async loadAlarms(): Promise<StoredAlarm[]> {
    return this.stmts.alarmsAll.all().map((r) => ({ id: r.id, actorId: r.actor_id, actorName: r.actor_name, fireAt: r.fire_at, action: r.action, args: r.args }));
  }

  private open_(): Database.Database {
    if (!this.db) throw new Error("SqliteStore is not open");
    return this.db;
  }
}

function toRecord(row: Row): ActorRecord {
  return { id: row.id, name: row.name, key: JSON.parse(row.key) as string[], createdAt: row.created_at, input: row.input ?? undefined };
}

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`troupe.db has schema version ${version}, newer than this Troupe understands (${SCHEMA_VERSION}); upgrade Troupe`);
  }
  db.transaction(() => {
    if (version < 1) {
      db.exec(`
        CREATE TABLE actors (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          key TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          state BLOB NOT NULL,
          UNIQUE (name, key)
        ) WITHOUT ROWID;
      `);
    }
    if (version < 2) {
      // v2: per-actor key-value entries and durable alarms.
      db.exec(`
        CREATE TABLE kv (actor_id TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (actor_id, key)) WITHOUT ROWID;
        CREATE TABLE alarms (id TEXT PRIMARY KEY, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, fire_at INTEGER NOT NULL, action TEXT NOT NULL, args BLOB NOT NULL);
        CREATE INDEX alarms_by_actor ON alarms (actor_id);
      `);
    }
    if (version < 3) {
      // v3: durable per-actor queues; dead letters stay with dead = 1.
      db.exec(`
        CREATE TABLE queue_messages (
          actor_id TEXT NOT NULL, seq INTEGER NOT NULL, queue TEXT NOT NULL, body BLOB NOT NULL,
          enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL, available_at INTEGER NOT NULL, dead INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (actor_id, seq)
        ) WITHOUT ROWID;
      `);
    }
    if (version < 4) {
      // v4: how far each actor's SQL redo records are applied (src/actor/sql-turn.ts).
      db.exec("CREATE TABLE actor_sql (actor_id TEXT PRIMARY KEY, applied INTEGER NOT NULL) WITHOUT ROWID;");
    }
    if (version < 5) {
      // v5: an actor is entered before its first turn; the input waits here for that turn.
      db.exec("ALTER TABLE actors ADD COLUMN input BLOB");
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

