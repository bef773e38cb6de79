import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { median } from "./stats.js";

/**
 * The measurement behind "one database for all actors" (docs/ARCHITECTURE.md): the cost
 * of creating 1,000 actors and of 1,000 commits spread over 100 actors, both durable
 * (synchronous=FULL), in one shared database vs one database file per actor.
 */
export interface LayoutFigures {
  sharedCreate1000Ms: number;
  perFileCreate1000Ms: number;
  sharedCommit1000Ms: number;
  perFileCommit1000Ms: number;
}

const STATE = Buffer.alloc(64, 7);

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  return db;
}

function shared(dir: string): { create: number; commit: number } {
  const db = open(path.join(dir, "all.db"));
  db.exec("CREATE TABLE actors (id TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID");
  const insert = db.prepare("INSERT INTO actors VALUES (?, ?)");
  const update = db.prepare("UPDATE actors SET state = ? WHERE id = ?");
  // Creations arrive concurrently, so the group committer writes them 50 to a transaction.
  let t = performance.now();
  for (let g = 0; g < 20; g++) db.transaction(() => { for (let i = 0; i < 50; i++) insert.run(`a${g * 50 + i}`, STATE); })();
  const create = performance.now() - t;
  // 1,000 commits over 100 actors, 10 actors per group commit.
  t = performance.now();
  for (let g = 0; g < 100; g++) db.transaction(() => { for (let i = 0; i < 10; i++) update.run(STATE, `a${(g * 10 + i) % 100}`); })();
  const commit = performance.now() - t;
  db.close();
  return { create, commit };
}

function perFile(dir: string): { create: number; commit: number } {
  const dbs: Database.Database[] = [];
  let t = performance.now();
  for (let i = 0; i < 1000; i++) {
    const db = open(path.join(dir, `a${i}.db`));
    db.exec("CREATE TABLE state (v BLOB NOT NULL)");
    db.prepare("INSERT INTO state VALUES (?)").run(STATE);
    if (i < 100) dbs.push(db);
    else db.close();
  }
  const create = performance.now() - t;
  // Each actor's commit is its own transaction and fsync: files cannot share one.
  t = performance.now();
  for (let g = 0; g < 1000; g++) dbs[g % 100]!.prepare("UPDATE state SET v = ?").run(STATE);
  const commit = performance.now() - t;
  for (const db of dbs) db.close();
  return { create, commit };
}

export function runLayoutBench(rounds = 3): LayoutFigures {
  const s: Array<{ create: number; commit: number }> = [];
  const f: Array<{ create: number; commit: number }> = [];
  for (let r = 0; r < rounds; r++) {
    for (const [fn, out] of [[shared, s], [perFile, f]] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-layout-"));
      try {
        out.push(fn(dir));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return {
    sharedCreate1000Ms: median(s.map((x) => x.create)),
    perFileCreate1000Ms: median(f.map((x) => x.create)),
    sharedCommit1000Ms: median(s.map((x) => x.commit)),
    perFileCommit1000Ms: median(f.map((x) => x.commit)),
  };
}
