import type { ActorType } from "../actor/actor-type.js";
import type { MessageOutcome } from "../actor/queue.js";
import { readRedo, redoMessageOutcome, type RedoOutcome } from "../actor/sql-turn.js";
import { errors } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { StorageDriver } from "../storage/driver.js";
import type { StoredAlarm, StoreWrite } from "../storage/types.js";

/** What catching up needs from the manager. */
export interface SqlCatchUpHost {
  readonly storage: StorageDriver;
  readonly committer: GroupCommitter;
  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void;
  messageSettled(seq: number, outcome: MessageOutcome): void;
}

/**
 * Applies the SQL redo records the store has not applied yet (a crash or a refused commit came
 * between the actor's SQL commit and the store's), before its state is read. Returns the redo
 * seq the store now holds, which the instance's SQL turns continue from.
 */
export async function catchUpSql(host: SqlCatchUpHost, actorId: string, type: ActorType): Promise<number> {
  const { storage } = host;
  let applied = await storage.sqlApplied(actorId);
  if (!(await storage.hasDatabase(actorId))) return applied;
  const db = await storage.openDatabase(actorId);
  let records;
  try {
    records = readRedo(db.connection, applied);
    db.committed();
  } finally {
    await db.close();
  }
  for (const r of records) {
    try {
      await host.committer.enqueue([...r.writes, { kind: "sqlApplied", actorId, seq: r.seq }]);
    } catch (err) {
      throw errors.commitFailed(err);
    }
    redoApplied(host, type, r.writes, r.outcomes);
    applied = r.seq;
  }
  return applied;
}

/** What a redo's writes would have told the runtime had they landed with their turn. */
function redoApplied(host: SqlCatchUpHost, type: ActorType, writes: readonly StoreWrite[], outcomes: readonly RedoOutcome[]): void {
  for (const w of writes) {
    if (w.kind === "alarmSet") host.alarmsCommitted([[w.alarm.id, w.alarm]]);
    else if (w.kind === "alarmDelete") host.alarmsCommitted([[w.alarmId, null]]);
    else if (w.kind === "queueAck" || w.kind === "queueRetry") {
      const m = type.metrics?.queues.get(w.queue);
      if (w.kind === "queueAck") m?.processed.ok.inc();
      else (w.dead ? m?.processed.dead : m?.processed.error)?.inc();
      if (w.kind === "queueAck" || w.dead) m?.depth.dec();
    }
  }
  for (const o of outcomes) host.messageSettled(o[0], redoMessageOutcome(o));
}
