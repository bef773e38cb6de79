import { errors } from "../common/errors.js";
import type { ActorDatabase, StorageDriver } from "../storage/driver.js";
import type { SqlConnection, SqlStatement, StoreWrite } from "../storage/types.js";
import type { MessageOutcome } from "./queue.js";
import { migrate, sqlError } from "./sql.js";
import { cbor } from "./state-codec.js";

/** A queue message's fate decided by a turn: [seq, ok, output], or [seq, false, attempts] for a dead letter. */
export type RedoOutcome = [number, boolean, unknown];

/** What a waiting sender hears of a redo outcome. */
export function redoMessageOutcome([, ok, out]: RedoOutcome): MessageOutcome {
  return ok ? { ok: true, output: out } : { ok: false, error: errors.queueMessageDead(typeof out === "number" ? out : undefined) };
}

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
 * The actor's database across turns: opened (and migrated) before the first turn, one
 * transaction per turn from its first statement to the turn's commit point, closed when the
 * actor unloads.
 *
 * SQLite cannot commit one transaction across the actor's file and the shared store, so the
 * actor's file is the turn's durability point: the turn's other writes go into a redo record
 * in the same SQL transaction, and the store records which redo it has applied. A turn is
 * then either wholly durable (SQL and redo together) or not at all; the store catches up from
 * the redo after a crash or a refused store commit (src/registry/sql-catch-up.ts).
 */
export class TurnDatabase {
  private db: ActorDatabase | undefined;
  /** The redo's statements, prepared once per open: a commit would otherwise compile two. */
  private redo: { prune: SqlStatement; insert: SqlStatement } | undefined;
  private abandoned = false;
  /** Highest redo seq written; the store's applied seq when nothing newer was written yet. */
  private seq: number;
  /** Highest redo seq the store confirmed: older records can go. */
  private confirmed: number;

  constructor(
    private readonly storage: Pick<StorageDriver, "openDatabase">,
    private readonly actorId: string,
    private readonly migrations: readonly string[],
    appliedSeq: number,
  ) {
    this.seq = appliedSeq;
    this.confirmed = appliedSeq;
  }

  /** Opens and migrates the database; the instance calls it before its first turn. */
  async open(): Promise<void> {
    if (this.db || this.abandoned) return;
    const db = await this.storage.openDatabase(this.actorId);
    let redo: TurnDatabase["redo"];
    try {
      migrate(db.connection, this.migrations);
      ensureRedoTable(db.connection);
      redo = {
        prune: db.connection.prepare(`DELETE FROM ${REDO_TABLE} WHERE seq <= ?`),
        insert: db.connection.prepare(`INSERT INTO ${REDO_TABLE} (seq, record) VALUES (?, ?)`),
      };
      db.committed();
    } catch (err) {
      await db.close();
      throw err;
    }
    // Abandoned while it opened: nobody will release it.
    if (this.abandoned) await db.close();
    else {
      this.db = db;
      this.redo = redo;
    }
  }

  /** The handle for a statement: begins the turn's transaction. */
  forStatement(): SqlConnection {
    if (this.abandoned) throw errors.actorRestarted();
    if (!this.db) throw errors.sqlUnavailable("undeclared");
    const conn = this.db.connection;
    if (!conn.inTransaction) conn.exec("BEGIN IMMEDIATE");
    return conn;
  }

  /** True when the current turn ran SQL that is not yet committed. */
  get inTransaction(): boolean {
    return this.db?.connection.inTransaction === true;
  }

  /** Commits the turn's SQL with its redo record; returns the record's seq. Throws if SQLite refuses. */
  commitWithRedo(record: Uint8Array): number {
    const db = this.db!;
    const conn = db.connection;
    const seq = this.seq + 1;
    try {
      this.redo!.prune.run(this.confirmed);
      this.redo!.insert.run(seq, record);
      conn.exec("COMMIT");
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      throw sqlError(err);
    }
    this.seq = seq;
    db.committed();
    return seq;
  }

  /** The store applied the redo up to `seq`. */
  applied(seq: number): void {
    if (seq > this.confirmed) this.confirmed = seq;
  }

  rollback(): void {
    const conn = this.db?.connection;
    if (conn?.inTransaction) conn.exec("ROLLBACK");
  }

  /** Closes the database (the instance unloads). */
  async release(): Promise<void> {
    const db = this.db;
    if (!db) return;
    this.rollback();
    this.db = undefined;
    this.redo = undefined;
    await db.close();
  }

  /** The instance was abandoned: drop the open transaction (and its write lock) now; refuse further use. */
  abandon(): void {
    this.abandoned = true;
    this.rollback();
    void this.release();
  }
}
