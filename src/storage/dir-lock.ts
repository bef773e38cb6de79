import fs from "node:fs";
import path from "node:path";

export interface DirLock {
  release(): void;
}

/**
 * Two servers on one data dir would each wake their own copy of an actor and overwrite
 * each other's state. A pid file refuses the second one; a stale file from a dead
 * process (say, after SIGKILL) is taken over.
 */
export function acquireDirLock(dir: string): DirLock {
  const file = path.join(dir, "LOCK");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return { release: () => fs.rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
      if (holder === process.pid) throw new Error(`Data directory ${dir} is already open in this process`);
      if (Number.isInteger(holder) && isAlive(holder)) {
        throw new Error(`Data directory ${dir} is in use by process ${holder}; stop it or set TROUPE_DATA_DIR to another folder`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not lock data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
