import type Database from "better-sqlite3";
import { keyToString } from "../common/key.js";
import type { StoreWrite } from "./types.js";

/**
 * The writing half of the SQLite store: its statements, and one batch applied as one
 * transaction. It runs on the commit thread (sqlite-commit-worker.ts), or for a lone small commit
 * on the main thread's connection (SqliteStore.write); one batch at a time either way.
 */
type WriteName =
  | "insert" | "update" | "remove" | "kvPut" | "kvDelete" | "kvDeleteAll" | "alarmSet" | "alarmDelete" | "alarmDeleteAll"
  | "qPush" | "qAck" | "qRetry" | "qDeleteAll" | "sqlApplied" | "sqlDelete";

type WriteStatements = Record<WriteName, Database.Statement>;

/** Applies one batch as one transaction, all or nothing. */
export type BatchWriter = (batch: readonly StoreWrite[]) => void;

/**
 * Prepares the statements and the transaction once per connection: better-sqlite3 builds four
 * wrapper functions per `db.transaction()`, which on a lone commit cost as much as its UPDATE.
 */
export function prepareWrites(db: Database.Database): BatchWriter {
  const statements = prepareStatements(db);
  return db.transaction((batch: readonly StoreWrite[]) => applyBatch(statements, batch));
}

function prepareStatements(db: Database.Database): WriteStatements {
  return {
    // An empty state marks an actor whose first turn has not committed yet.
    insert: db.prepare("INSERT INTO actors (id, name, key, created_at, state, input) VALUES (?, ?, ?, ?, X'', ?) ON CONFLICT (name, key) DO NOTHING"),
    update: db.prepare("UPDATE actors SET state = ? WHERE id = ?"),
    remove: db.prepare("DELETE FROM actors WHERE id = ?"),
    // Data for an actor not in the directory (destroyed meanwhile) would be an orphan nobody reads.
    kvPut: db.prepare("INSERT INTO kv (actor_id, key, value) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM actors WHERE id = ?) ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value"),
    kvDelete: db.prepare("DELETE FROM kv WHERE actor_id = ? AND key = ?"),
    kvDeleteAll: db.prepare("DELETE FROM kv WHERE actor_id = ?"),
    alarmSet: db.prepare("INSERT OR REPLACE INTO alarms (id, actor_id, actor_name, fire_at, action, args) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM actors WHERE id = ?)"),
    alarmDelete: db.prepare("DELETE FROM alarms WHERE id = ? AND actor_id = ?"),
    alarmDeleteAll: db.prepare("DELETE FROM alarms WHERE actor_id = ?"),
    // A message for an actor destroyed meanwhile would be an orphan nobody reads.
    qPush: db.prepare("INSERT INTO queue_messages (actor_id, seq, queue, body, enqueued_at, attempts, available_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM actors WHERE id = ?)"),
    qAck: db.prepare("DELETE FROM queue_messages WHERE actor_id = ? AND seq = ?"),
    qRetry: db.prepare("UPDATE queue_messages SET attempts = ?, available_at = ?, dead = ? WHERE actor_id = ? AND seq = ?"),
    qDeleteAll: db.prepare("DELETE FROM queue_messages WHERE actor_id = ?"),
    sqlApplied: db.prepare("INSERT INTO actor_sql (actor_id, applied) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM actors WHERE id = ?) ON CONFLICT (actor_id) DO UPDATE SET applied = max(applied, excluded.applied)"),
    sqlDelete: db.prepare("DELETE FROM actor_sql WHERE actor_id = ?"),
  };
}

/** One batch's statements; the caller's transaction makes it all or nothing. */
function applyBatch(s: WriteStatements, batch: readonly StoreWrite[]): void {
  for (const w of batch) {
    switch (w.kind) {
      case "state":
        s.update.run(w.state, w.actorId);
        break;
      case "create": {
        const r = w.record;
        const inserted = s.insert.run(r.id, r.name, keyToString(r.key), r.createdAt, r.input ?? null).changes > 0;
        // Thrown inside the transaction: nothing of the batch lands, and its callers are told.
        if (!inserted && w.exclusive) throw new Error(`the key of a new ${r.name} is taken: ${keyToString(r.key)}`);
        break;
      }
      case "destroy":
        s.remove.run(w.actorId);
        s.kvDeleteAll.run(w.actorId);
        s.alarmDeleteAll.run(w.actorId);
        s.qDeleteAll.run(w.actorId);
        s.sqlDelete.run(w.actorId);
        break;
      case "sqlApplied":
        s.sqlApplied.run(w.actorId, w.seq, w.actorId);
        break;
      case "queuePush": {
        const m = w.message;
        s.qPush.run(w.actorId, m.seq, m.queue, m.body, m.enqueuedAt, m.attempts, m.availableAt, w.actorId);
        break;
      }
      case "queueAck":
        s.qAck.run(w.actorId, w.seq);
        break;
      case "queueRetry":
        s.qRetry.run(w.attempts, w.availableAt, w.dead ? 1 : 0, w.actorId, w.seq);
        break;
      case "kvPut":
        s.kvPut.run(w.actorId, w.key, w.value, w.actorId);
        break;
      case "kvDelete":
        s.kvDelete.run(w.actorId, w.key);
        break;
      case "alarmSet":
        s.alarmSet.run(w.alarm.id, w.actorId, w.alarm.actorName, w.alarm.fireAt, w.alarm.action, w.alarm.args, w.actorId);
        break;
      case "alarmDelete":
        s.alarmDelete.run(w.alarmId, w.actorId);
        break;
    }
  }
}

/** Few writes of few bytes: committing them costs little besides the fsync. */
export function smallBatch(batch: readonly StoreWrite[]): boolean {
  if (batch.length > 16) return false;
  let bytes = 0;
  for (const w of batch) {
    if (w.kind === "state") bytes += w.state.byteLength;
    else if (w.kind === "kvPut") bytes += w.key.byteLength + w.value.byteLength;
    else if (w.kind === "queuePush") bytes += w.message.body.byteLength;
    else if (w.kind === "alarmSet") bytes += w.alarm.args.byteLength;
    else if (w.kind === "create") bytes += w.record.input?.byteLength ?? 0;
  }
  return bytes <= 64 * 1024;
}
