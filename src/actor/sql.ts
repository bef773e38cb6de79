import { errors, TroupeError } from "../common/errors.js";
import type { SqlKind, SqlKindMetrics } from "./metrics-port.js";
import type { SqlConnection, SqlStatement } from "../storage/types.js";

export { SQL_KINDS, type SqlKind } from "./metrics-port.js";

export type SqlParams = readonly unknown[] | Record<string, unknown>;

/** The type's SQL series, bound per statement kind on first use. */
export type SqlMetrics = (kind: SqlKind) => SqlKindMetrics;

/** What `c.db` needs from its instance. */
export interface SqlHost {
  /** Opens (once) the actor's own database, with its migrations applied. */
  database(): SqlConnection;
  readonly sqlMetrics: SqlMetrics | undefined;
}

const KIND_BY_VERB: Record<string, SqlKind> = {
  select: "select", with: "select", values: "select",
  insert: "insert", replace: "insert",
  update: "update",
  delete: "delete",
  create: "ddl", drop: "ddl", alter: "ddl",
};

export function sqlKind(sql: string): SqlKind {
  const verb = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([a-zA-Z]+)/.exec(sql)?.[1]?.toLowerCase();
  return (verb && KIND_BY_VERB[verb]) || "other";
}

// Each actor's database is its own file; ATTACH (and VACUUM INTO) could reach other files.
const FORBIDDEN = /\b(attach|detach)\b|\bvacuum\s+into\b|\b_troupe_redo\b/i;

export function sqlError(err: unknown): TroupeError {
  if (err instanceof TroupeError) return err;
  const e = err as { message?: string; code?: string };
  return errors.sqlError(`SQL error: ${e.message ?? String(err)}`, e.code ?? "SQLITE_ERROR");
}

const MAX_CACHED = 200;

/**
 * `c.db`: the actor's own SQLite database. Statements of one turn run in one transaction,
 * committed with the rest of the turn (src/actor/sql-turn.ts) and rolled back if it throws.
 */
export class ActorSql {
  private readonly cache = new Map<string, SqlStatement>();

  constructor(private readonly host: SqlHost) {}

  /** Runs one or more statements with no parameters and no result (DDL, scripts). */
  exec(sql: string): void {
    this.measure(sql, () => {
      this.host.database().exec(sql);
      return undefined;
    });
  }

  /** Runs a statement and returns its rows as objects. */
  query<T = Record<string, unknown>>(sql: string, params?: SqlParams): T[] {
    return this.measure(sql, () => {
      const stmt = this.prepare(sql);
      if (!stmt.reader) throw errors.sqlError("query() needs a statement that returns rows; use run() for writes");
      return bind(stmt, params).all() as T[];
    });
  }

  /** Runs a statement and returns how many rows it changed and the last inserted rowid. */
  run(sql: string, params?: SqlParams): { changes: number; lastInsertRowid: number | bigint } {
    return this.measure(sql, () => {
      const r = bind(this.prepare(sql), params).run();
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    });
  }

  /** Runs `fn` in a nested transaction (a savepoint): all of it or none. `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    const db = this.host.database();
    const name = `troupe_tx_${this.depth++}`;
    db.exec(`SAVEPOINT ${name}`);
    try {
      const out = fn();
      if (out && typeof (out as { then?: unknown }).then === "function") {
        throw errors.sqlError("c.db.transaction(fn) needs a synchronous fn: SQLite transactions cannot span an await");
      }
      db.exec(`RELEASE ${name}`);
      return out;
    } catch (err) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
      throw err instanceof TroupeError ? err : sqlError(err);
    } finally {
      this.depth--;
    }
  }

  private depth = 0;

  private prepare(sql: string): SqlStatement {
    // database() also opens the turn's transaction, so call it even for a cached statement.
    const db = this.host.database();
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  private measure<T>(sql: string, fn: () => T): T {
    if (typeof sql !== "string" || sql.length === 0) throw errors.sqlError("SQL must be a non-empty string");
    const kind = sqlKind(sql);
    const m = this.host.sqlMetrics?.(kind);
    const t = performance.now();
    try {
      if (FORBIDDEN.test(sql)) throw errors.sqlForbidden();
      const out = fn();
      m?.ok.inc();
      return out;
    } catch (err) {
      m?.error.inc();
      throw sqlError(err);
    } finally {
      m?.duration.observe((performance.now() - t) / 1000);
    }
  }
}

function bind(stmt: SqlStatement, params: SqlParams | undefined): { all(): unknown[]; run(): { changes: number; lastInsertRowid: number | bigint } } {
  if (params === undefined) return { all: () => stmt.all(), run: () => stmt.run() };
  if (Array.isArray(params)) return { all: () => stmt.all(...params), run: () => stmt.run(...params) };
  if (typeof params === "object" && params !== null) return { all: () => stmt.all(params), run: () => stmt.run(params) };
  throw errors.sqlError("params must be an array (positional) or an object (named)");
}

/** Applies `migrations` that have not run yet, in order, tracking the count in user_version. */
export function migrate(db: SqlConnection, migrations: readonly string[]): void {
  const applied = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (applied > migrations.length) {
    throw errors.sqlMigrationError(`The actor database is at migration ${applied} but the actor declares ${migrations.length}`);
  }
  for (let i = applied; i < migrations.length; i++) {
    try {
      db.exec("BEGIN IMMEDIATE");
      db.exec(migrations[i]!);
      db.exec(`PRAGMA user_version = ${i + 1}`);
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw errors.sqlMigrationError(`Migration ${i + 1} failed: ${(err as Error).message}`);
    }
  }
}
