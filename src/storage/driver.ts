import type { CommitHint } from "./group-commit.js";
import type { ActorRecord, KvRange, SqlConnection, StoreWrite, StoredAlarm, StoredMessage } from "./types.js";

/**
 * The storage driver: each actor's state, KV, queue, alarms and SQL. Every member that may
 * touch a disk or a network is async, so a driver whose data lives elsewhere (an engine's
 * KV) implements it as honestly as the embedded SQLite file does.
 *
 * A turn's writes reach `write` as one batch that lands whole or not at all. The runtime's
 * group committer (src/storage/group-commit.ts) puts many actors' turns into one batch, so
 * a driver that can commit across actors pays one fsync for all; one that cannot splits the
 * batch per actor and must still apply each actor's part atomically.
 */
export interface StorageDriver {
  /** A short name for logs and metadata, e.g. "sqlite" or "memory". */
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The committed state, or undefined while the actor's first turn has not committed. */
  loadState(actorId: string): Promise<Uint8Array | undefined>;
  /**
   * Applies every write or none, durably. The one exception to "async": a store may make a small
   * commit before returning (SqliteStore does, for a lone call's, see `hint`) and then returns
   * nothing, which spares a sequential call a turn of the microtask queue. A failure is always a
   * rejected promise, never a throw.
   */
  write(batch: readonly StoreWrite[], hint?: CommitHint): Promise<void> | void;
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
  /** The highest seq stored now (dead letters included), so new messages sort after every stored one. */
  maxMessageSeq(): Promise<number>;
  /** True if the actor has an SQL database. */
  hasDatabase(actorId: string): Promise<boolean>;
  /** Opens the actor's own SQL database, creating it on first use, for one live instance. */
  openDatabase(actorId: string): Promise<ActorDatabase>;
  /** Tables of the actor's SQL database with their row counts (read-only; empty if it has none). */
  databaseTables(actorId: string): Promise<Array<{ name: string; rows: number }>>;
  /** The actor was destroyed: remove its database. */
  deleteDatabase(actorId: string): Promise<void>;
}

/**
 * An open actor database. Statements run synchronously between a turn's awaits, which is
 * what lets a turn's SQL share one transaction; the driver decides where the bytes live.
 */
export interface ActorDatabase {
  readonly connection: SqlConnection;
  /** A transaction committed on the connection (a driver without files takes the new image). */
  committed(): void;
  close(): Promise<void>;
}

/** The directory reads of a store that keeps the directory beside the data (the embedded stores). */
export interface LocalDirectory {
  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined>;
  findById(id: string): Promise<ActorRecord | undefined>;
  /** Actors in id order: `name` filters, `keyPrefix` matches key parts from the left. */
  listActors(q: ListQuery): Promise<ActorRecord[]>;
}

export interface ListQuery {
  name?: string;
  keyPrefix?: readonly string[];
  afterId?: string;
  limit: number;
}

/**
 * An embedded store: storage and directory in one database, so a directory change (create,
 * destroy) commits in the same batch as data. src/storage/embedded-placement.ts turns its
 * directory into a placement driver.
 */
export interface ActorStore extends StorageDriver, LocalDirectory {}
