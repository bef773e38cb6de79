
/**
 * The storage seam. The embedded default is SQLite; a distributed engine will implement
 * the same interface later, which is why every method is async even where SQLite is not.
 */
export interface ActorRecord {
  id: string;
  name: string;
  key: string[];
  createdAt: number;
}

/** A durable alarm: run `action` with the CBOR-encoded `args` at `fireAt` (ms since epoch). */
export interface StoredAlarm {
  id: string;
  actorId: string;
  /** The actor type, so the scheduler can count pending alarms per type without a lookup. */
  actorName: string;
  fireAt: number;
  action: string;
  args: Uint8Array;
}

/** A durable queue message. `seq` is unique and increasing across the store. */
export interface StoredMessage {
  seq: number;
  actorId: string;
  queue: string;
  body: Uint8Array;
  enqueuedAt: number;
  attempts: number;
  /** Not before this time (ms since epoch): retries back off. */
  availableAt: number;
}

/** KV range query over encoded keys (see src/actor/kv.ts for the encoding). */
export interface KvRange {
  /** Inclusive lower bound. */
  start?: Uint8Array;
  /** Exclusive upper bound. */
  end?: Uint8Array;
  limit?: number;
  reverse?: boolean;
}

export type StoreWrite =
  | { kind: "create"; record: ActorRecord; state: Uint8Array }
  | { kind: "state"; actorId: string; state: Uint8Array }
  /** Deletes the actor and everything it owns (KV, alarms). */
  | { kind: "destroy"; actorId: string }
  | { kind: "kvPut"; actorId: string; key: Uint8Array; value: Uint8Array }
  | { kind: "kvDelete"; actorId: string; key: Uint8Array }
  | { kind: "alarmSet"; actorId: string; alarm: StoredAlarm }
  | { kind: "alarmDelete"; actorId: string; alarmId: string }
  | { kind: "queuePush"; actorId: string; message: StoredMessage }
  /** Removes a message: handled, or taken by c.queue.next(). */
  | { kind: "queueAck"; actorId: string; seq: number; queue: string }
  /** A failed attempt: count it and back off; `dead` moves it to the dead letters. */
  | { kind: "queueRetry"; actorId: string; seq: number; queue: string; attempts: number; availableAt: number; dead: boolean }
  /** The actor's SQL redo records up to `seq` are applied (src/actor/sql-turn.ts). */
  | { kind: "sqlApplied"; actorId: string; seq: number };

export interface ActorStore {
  /** A short name for logs and metadata, e.g. "sqlite" or "memory". */
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined>;
  findById(id: string): Promise<ActorRecord | undefined>;
  loadState(id: string): Promise<Uint8Array | undefined>;
  /**
   * Applies every write or none: a batch is one atomic, durable commit. A `create` whose
   * (name, key) is already taken is skipped rather than failing the batch, because one
   * batch carries many actors' commits; the creator checks the winner with findByKey.
   */
  write(batch: readonly StoreWrite[]): Promise<void>;
  kvGet(actorId: string, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Entries in key order (bytewise), or reverse order; at most `limit`. */
  kvList(actorId: string, range: KvRange): Promise<Array<[Uint8Array, Uint8Array]>>;
  /** The last SQL redo seq applied for the actor (0 if none). */
  sqlApplied(actorId: string): Promise<number>;
  /** Every stored alarm, for the scheduler to arm at startup. */
  loadAlarms(): Promise<StoredAlarm[]>;
  /** Live (not dead) messages of one actor, in seq order. */
  loadMessages(actorId: string): Promise<StoredMessage[]>;
  /** Live message counts per actor, for waking actors with work after a restart. */
  queueBacklog(): Promise<Array<{ actorId: string; actorName: string; queue: string; count: number }>>;
  /** The highest seq ever stored, so new messages sort after old ones. */
  maxMessageSeq(): Promise<number>;
  /** Actors by name in id order, for the inspector: `keyPrefix` matches key parts from the left. */
  listActors(q: { name?: string; keyPrefix?: readonly string[]; afterId?: string; limit: number }): Promise<ActorRecord[]>;
  /** Tables of the actor's SQL database with their row counts (read-only; empty if it has none). */
  actorDatabaseTables(actorId: string): Array<{ name: string; rows: number }>;
  /** True if the actor has an SQL database (it used `c.db`). */
  hasActorDatabase(actorId: string): boolean;
  /** The actor's own SQL database (opened on first use by `c.db`). */
  openActorDatabase(actorId: string): SqlConnection;
  /** A transaction on the actor's database committed (a store without files keeps its image). */
  actorDatabaseCommitted(actorId: string, db: SqlConnection): void;
  /** The instance is unloading: close the database if the store reopens it later. */
  releaseActorDatabase(actorId: string, db: SqlConnection): void;
  /** The actor was destroyed: remove its database. */
  deleteActorDatabase(actorId: string): void;
}

/**
 * A connection to an actor's own SQL database, as the runtime uses it: SQLite's dialect and
 * synchronous calls (a turn's statements run between its awaits). The embedded stores hand out
 * better-sqlite3 connections, which have this shape; no driver's own type crosses this seam.
 */
export interface SqlConnection {
  readonly open: boolean;
  readonly inTransaction: boolean;
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
}

export interface SqlStatement {
  /** True when the statement returns rows. */
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
}
