import { errors } from "../common/errors.js";
import type { ActorStore, SqlConnection, StoreWrite } from "../storage/types.js";
import { migrate, sqlError } from "./sql.js";
import { cbor } from "./state-codec.js";

/** A queue message's fate decided by a turn: [seq, ok, output]. */
export type RedoOutcome = [number, boolean, unknown];

/** A turn's non-SQL writes, kept in the actor's database beside its SQL changes. */
export interface RedoRecord {
  seq: number;
  writes: StoreWrite[];
  outcomes: RedoOutcome[];
}

/** Lives in the actor's own database; user SQL may not name it (src/actor/sql.ts refuses). */
const REDO_TABLE = "_troupe_redo";

export function encodeRedo(writes: readonly StoreWrite[], outcomes: readonly RedoOutcome[]): Uint8Array {
  let safe: readonly RedoOutcome[] = outcomes;
  try {
    cbor.encode(outcomes);
  } catch {
    // An output CBOR cannot carry is dropped from the record; the writes are what matter.
    safe = outcomes.map(([seq, ok]) => [seq, ok, undefined]);
  }
  return cbor.encode({ w: writes, o: safe });
}

function ensureRedoTable(db: SqlConnection): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${REDO_TABLE} (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)`);
}

/** Redo records after `appliedSeq`, in order: turns whose SQL committed but whose other writes may not have. */
export function readRedo(db: SqlConnection, appliedSeq: number): RedoRecord[] {
  ensureRedoTable(db);
  const rows = db.prepare(`SELECT seq, record FROM ${REDO_TABLE} WHERE seq > ? ORDER BY seq`).all(appliedSeq) as Array<{ seq: number; record: Buffer }>;
  return rows.map((r) => {
    const d = cbor.decode(r.record) as { w: StoreWrite[]; o: RedoOutcome[] };
    return { seq: r.seq, writes: d.w, outcomes: d.o };
  });
}

/**
 * The actor's database across turns: opened (and migrated) on first use, one transaction per
 * turn from its first statement to the turn's commit point, closed when the actor unloads.
 *
 * SQLite cannot commit one transaction across the actor's file and the shared store, so the
 * actor's file is the turn's durability point: the turn's other writes go into a redo record
 * in the same SQL transaction, and the store records which redo it has applied. A turn is
 * then either wholly durable (SQL and redo together) or not at all; the store catches up from
 * the redo after a crash or a refused store commit (ActorManager.wake).
 */
export class TurnDatabase {
  private db: SqlConnection | undefined;
  private abandoned = false;
  /** Highest redo seq written; the store's applied seq when nothing newer was written yet. */
  private seq: number;
  /** Highest redo seq the store confirmed: older records can go. */
  private confirmed: number;

  constructor(
    private readonly store: ActorStore,
    private readonly actorId: string,
    private readonly migrations: readonly string[],
    appliedSeq: number,
  ) {
    this.seq = appliedSeq;
    this.confirmed = appliedSeq;
  }

  /** The handle for a statement: opens it if needed and begins the turn's transaction. */
  forStatement(): SqlConnection {
    if (this.abandoned) throw errors.actorRestarted();
    if (!this.db) {
      const db = this.store.openActorDatabase(this.actorId);
      try {
        migrate(db, this.migrations);
        ensureRedoTable(db);
        this.store.actorDatabaseCommitted(this.actorId, db);
      } catch (err) {
        this.store.releaseActorDatabase(this.actorId, db);
        throw err;
      }
      this.db = db;
    }
    if (!this.db.inTransaction) this.db.exec("BEGIN IMMEDIATE");
    return this.db;
  }

  /** True when the current turn ran SQL that is not yet committed. */
  get inTransaction(): boolean {
    return this.db?.inTransaction === true;
  }

  /** Commits the turn's SQL with its redo record; returns the record's seq. Throws if SQLite refuses. */
  commitWithRedo(record: Uint8Array): number {
    const db = this.db!;
    const seq = this.seq + 1;
    try {
      db.prepare(`DELETE FROM ${REDO_TABLE} WHERE seq <= ?`).run(this.confirmed);
      db.prepare(`INSERT INTO ${REDO_TABLE} (seq, record) VALUES (?, ?)`).run(seq, record);
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw sqlError(err);
    }
    this.seq = seq;
    this.store.actorDatabaseCommitted(this.actorId, db);
    return seq;
  }

  /** The store applied the redo up to `seq`. */
  applied(seq: number): void {
    if (seq > this.confirmed) this.confirmed = seq;
  }

  rollback(): void {
    if (this.db?.inTransaction) this.db.exec("ROLLBACK");
  }

  release(): void {
    if (!this.db) return;
    this.rollback();
    this.store.releaseActorDatabase(this.actorId, this.db);
    this.db = undefined;
  }

  /** The instance was abandoned: drop the open transaction (and its write lock) now; refuse further use. */
  abandon(): void {
    this.abandoned = true;
    this.release();
  }
}
