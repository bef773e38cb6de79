import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { prepareWrites } from "./sqlite-writes.js";
import type { StoreWrite } from "./types.js";

/**
 * The commit thread of the SQLite store: its connection makes troupe.db's commits whenever
 * more than one call waits (a lone one is made on the main thread, see SqliteStore.write), so
 * under load a commit's fsync blocks this thread, not the event loop that parses requests and
 * runs turns. It also makes the checkpoints.
 * Messages: "ready" out once the connection is open; `{ id, batch }` in, `{ id }` or
 * `{ id, error: { message, code } }` out; `{ id, checkpoint }` in, `{ id }` out; "close" in,
 * "closed" out.
 */
const { file, synchronous } = workerData as { file: string; synchronous: "FULL" | "NORMAL" };
const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma(`synchronous = ${synchronous}`);
db.pragma("busy_timeout = 5000");
const writeBatch = prepareWrites(db);
parentPort!.postMessage("ready");

parentPort!.on("message", (msg: { id: number; batch: StoreWrite[] } | { id: number; checkpoint: true } | "close") => {
  if (msg === "close") {
    db.close();
    parentPort!.postMessage("closed");
    return;
  }
  if ("checkpoint" in msg) {
    // PASSIVE: it never waits for a lock; a checkpoint that could not finish is retried later.
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } catch {}
    parentPort!.postMessage({ id: msg.id });
    return;
  }
  try {
    writeBatch(msg.batch);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    const e = err as { message?: string; code?: string };
    parentPort!.postMessage({ id: msg.id, error: { message: String(e?.message ?? err), code: e?.code } });
  }
});
