import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export interface DirLock {
  release(): void;
}

/**
 * Two servers on one data dir would each wake their own copy of an actor and overwrite
 * each other's state, so the second one is refused.
 *
 * The lock is SQLite's exclusive lock on `LOCK.db`, a POSIX lock the kernel drops when the holder
 * dies, however it died: a supervisor can restart at once. A pid file cannot tell a dead holder from
 * a live one (a killed process not yet reaped, or a container restart that reuses the dead pid).
 *
 * `LOCK` (the pid file of older versions) now only names the holder for the refusal message and
 * is never trusted; a stale one is overwritten.
 */
export function acquireDirLock(dir: string): DirLock {
  const file = path.join(dir, "LOCK.db");
  let db: Database.Database;
  try {
    // timeout 0: a busy lock must fail now, not after better-sqlite3's default 5 s wait.
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new Error(`Could not lock data directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const key = fs.realpathSync(dir);
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // A write transaction takes SQLite's EXCLUSIVE lock; this locking mode keeps it until close().
    db.exec("BEGIN EXCLUSIVE; COMMIT");
  } catch (err) {
    db.close();
    const code = String((err as { code?: unknown }).code);
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) throw busy(dir, key);
    throw new Error(`Could not lock data directory ${dir} (${file}: ${(err as Error).message}); if that file is damaged, delete it while no Troupe server uses the directory`, { cause: err });
  }
  heldHere.add(key);
  const info = path.join(dir, "LOCK");
  try {
    fs.writeFileSync(info, `${process.pid}\n`);
  } catch {
    // Only the error message of a refused server uses it.
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      // Before close: after it, the next holder may already have written its own pid there.
      fs.rmSync(info, { force: true });
      db.close();
    },
  };
}

// Only to word the message: SQLite itself refuses a second lock in this process too.
const heldHere = new Set<string>();

function busy(dir: string, key: string): Error {
  if (heldHere.has(key)) {
    return new Error(`Data directory ${dir} is already open in this process: close the registry using it first, or set TROUPE_DATA_DIR to another folder`);
  }
  const pid = holderPid(dir);
  return new Error(
    `Data directory ${dir} is in use by ${pid ? `process ${pid}` : "another process"}: another Troupe server (or this process) has it open; stop it or set TROUPE_DATA_DIR to another folder`,
  );
}

function holderPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
