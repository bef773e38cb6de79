
/**
 * The records both driver seams speak in (src/storage/driver.ts for an actor's data,
 * src/storage/placement.ts for where actors live). Plain data only: no driver's own types.
 */
export interface ActorRecord {
  id: string;
  name: string;
  key: string[];
  createdAt: number;
  /** The CBOR-encoded input given at creation; the actor's first turn hands it to createState and onCreate. */
  input?: Uint8Array | undefined;
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
  /**
   * Enters the actor in the directory, without state: its first turn creates the state. Skipped
   * when (name, key) is taken; with `exclusive`, a taken key fails the whole batch instead (an
   * entry that commits with the actor's first turn must never be skipped while its state lands).
   */
  | { kind: "create"; record: ActorRecord; exclusive?: true }
  | { kind: "state"; actorId: string; state: Uint8Array }
  /** Deletes the actor and everything it owns (KV, alarms, queue, SQL progress). */
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
