import type { Scheduler } from "fast-check";
import { MemoryStore } from "../../src/storage/memory-store.js";
import type { ActorDatabase, ActorStore } from "../../src/storage/driver.js";
import type { ActorRecord, KvRange, StoreWrite, StoredAlarm, StoredMessage } from "../../src/storage/types.js";

/** How often each fault strikes, chosen per run by the seed. */
export interface FaultRates {
  /** A store commit is refused (nothing of it applied). */
  fail: number;
  /** A store commit completes after a delay. */
  late: number;
  /** An SQL commit on an actor database finds the disk full. */
  sqlFull: number;
}

export const LATE_MAX_MS = 60;

/** A small seeded generator, so the faults of a run replay from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One process's view of the disk. Every read and commit completes when the scheduler lets
 * it (so the seed orders them against everything else); commits fail or arrive late as the
 * rates say. After `kill()` (the process died) nothing this store does reaches the disk.
 */
export class FaultyStore implements ActorStore {
  readonly kind = "memory";
  dead = false;
  /** Commits attempted, and how each ended. */
  readonly stats = { commits: 0, failed: 0, late: 0, sqlFull: 0 };

  constructor(
    readonly disk: MemoryStore,
    private readonly s: Scheduler,
    private readonly rates: FaultRates,
    private readonly random: () => number,
  ) {}

  kill(): void {
    this.dead = true;
  }

  private read<T>(label: string, value: Promise<T>): Promise<T> {
    return this.s.schedule(value, label).then((v) => (this.dead ? never<T>() : v));
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  findByKey(name: string, key: readonly string[]): Promise<ActorRecord | undefined> {
    return this.read("findByKey", this.disk.findByKey(name, key));
  }
  findById(id: string): Promise<ActorRecord | undefined> {
    return this.read("findById", this.disk.findById(id));
  }
  loadState(id: string): Promise<Uint8Array | undefined> {
    return this.read("loadState", this.disk.loadState(id));
  }
  kvGet(actorId: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.read("kvGet", this.disk.kvGet(actorId, key));
  }
  kvList(actorId: string, range: KvRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    return this.read("kvList", this.disk.kvList(actorId, range));
  }
  sqlApplied(actorId: string): Promise<number> {
    return this.read("sqlApplied", this.disk.sqlApplied(actorId));
  }
  loadAlarms(): Promise<StoredAlarm[]> {
    return this.disk.loadAlarms();
  }
  loadMessages(actorId: string): Promise<StoredMessage[]> {
    return this.read("loadMessages", this.disk.loadMessages(actorId));
  }
  queueBacklog(): Promise<Array<{ actorId: string; actorName: string; queue: string; count: number }>> {
    return this.disk.queueBacklog();
  }
  maxMessageSeq(): Promise<number> {
    return this.disk.maxMessageSeq();
  }
  listActors(q: { name?: string; keyPrefix?: readonly string[]; afterId?: string; limit: number }): Promise<ActorRecord[]> {
    return this.disk.listActors(q);
  }
  databaseTables(actorId: string): Promise<Array<{ name: string; rows: number }>> {
    return this.disk.databaseTables(actorId);
  }
  hasDatabase(actorId: string): Promise<boolean> {
    return this.read("hasDatabase", this.disk.hasDatabase(actorId));
  }

  async openDatabase(actorId: string): Promise<ActorDatabase> {
    const db = await this.read("openDatabase", this.disk.openDatabase(actorId));
    const conn = db.connection;
    const exec = conn.exec.bind(conn);
    // A full disk shows when SQLite writes the transaction out: at COMMIT.
    conn.exec = (sql: string) => {
      if (/^\s*COMMIT\b/i.test(sql) && !this.dead && this.random() < this.rates.sqlFull) {
        this.stats.sqlFull++;
        throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      }
      return exec(sql);
    };
    return {
      connection: conn,
      committed: () => {
        if (!this.dead) db.committed();
      },
      close: () => db.close(),
    };
  }
  async deleteDatabase(actorId: string): Promise<void> {
    if (!this.dead) await this.disk.deleteDatabase(actorId);
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    if (this.dead) return never();
    this.stats.commits++;
    const fail = this.random() < this.rates.fail;
    const lateMs = this.random() < this.rates.late ? 1 + Math.floor(this.random() * LATE_MAX_MS) : 0;
    if (lateMs > 0) {
      this.stats.late++;
      await new Promise((r) => setTimeout(r, lateMs));
    }
    await this.s.schedule(Promise.resolve(), fail ? "commit (fails)" : "commit");
    if (this.dead) return never();
    if (fail) {
      this.stats.failed++;
      throw new Error("simulated commit failure");
    }
    if (process.env.TROUPE_SIM_TRACE === "1") {
      process.stderr.write(`    commit: ${batch.map((w) => `${w.kind}:${w.kind === "create" ? `${w.record.id}/${w.record.key}` : w.actorId}`).join(" ")}\n`);
    }
    await this.disk.write(batch);
  }
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}
