import { pino } from "pino";
import { actor, setup } from "../src/index.js";
import { tempDir } from "../test/helpers/harness.js";
import { median, percentile } from "./stats.js";

/**
 * Capability costs inside one process on the SQLite default (synchronous=FULL): what an
 * action pays for KV and SQL, how late alarms fire, and how fast a queue drains.
 */
export interface CapabilityFigures {
  kvPutPerSec: number;
  kvGetPerSec: number;
  sqlInsertPerSec: number;
  alarmLatenessP50Ms: number;
  alarmLatenessP99Ms: number;
  queueMsgPerSec: number;
}

const bench = actor({
  state: { handled: 0 },
  db: { migrations: ["CREATE TABLE rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"] },
  queues: {
    work: (c) => {
      c.state.handled += 1;
    },
  },
  actions: {
    kvPut: async (c, n: number) => {
      for (let i = 0; i < n; i++) await c.kv.put(`k${i}`, { i, text: "value" });
    },
    kvGet: async (c, n: number) => {
      let found = 0;
      for (let i = 0; i < n; i++) if ((await c.kv.get(`k${i}`)) !== undefined) found++;
      return found;
    },
    sqlInsert: (c, n: number) =>
      c.db.transaction(() => {
        for (let i = 0; i < n; i++) c.db.run("INSERT INTO rows (v) VALUES (?)", [`row ${i}`]);
        return n;
      }),
    scheduleMany: (c, n: number, spreadMs: number) => {
      for (let i = 0; i < n; i++) c.schedule.after(200 + (i * spreadMs) / n, "tick");
    },
    tick: () => {},
    handled: (c) => c.state.handled,
  },
  options: { sleepTimeoutMs: 60_000 },
});

export async function runCapabilityBench(rounds = 3): Promise<CapabilityFigures> {
  const registry = setup({ use: { bench }, storage: { driver: "sqlite", dataDir: tempDir("troupe-capbench-") }, logger: pino({ level: "silent" }), metrics: { enabled: false } });
  const manager = await registry.start();
  const r: Record<keyof CapabilityFigures, number[]> = { kvPutPerSec: [], kvGetPerSec: [], sqlInsertPerSec: [], alarmLatenessP50Ms: [], alarmLatenessP99Ms: [], queueMsgPerSec: [] };
  try {
    const { actorId } = await manager.resolve("bench", ["b"], "getOrCreate");
    const call = (action: string, ...args: unknown[]) => manager.callAction(actorId, action, args);
    for (let round = 0; round < rounds; round++) {
      const N = 5000;
      let t = performance.now();
      await call("kvPut", N);
      r.kvPutPerSec.push(N / ((performance.now() - t) / 1000));
      t = performance.now();
      await call("kvGet", N);
      r.kvGetPerSec.push(N / ((performance.now() - t) / 1000));
      t = performance.now();
      await call("sqlInsert", 10_000);
      r.sqlInsertPerSec.push(10_000 / ((performance.now() - t) / 1000));

      manager.scheduler.lateness.length = 0;
      await call("scheduleMany", 1000, 1000);
      const deadline = Date.now() + 10_000;
      while (manager.scheduler.lateness.length < 1000 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      r.alarmLatenessP50Ms.push(percentile(manager.scheduler.lateness, 50));
      r.alarmLatenessP99Ms.push(percentile(manager.scheduler.lateness, 99));

      const before = (await call("handled")) as number;
      t = performance.now();
      const M = 2000;
      await Promise.all(Array.from({ length: M }, (_, i) => manager.sendMessage(actorId, "work", i)));
      while (((await call("handled")) as number) < before + M) await new Promise((res) => setImmediate(res));
      r.queueMsgPerSec.push(M / ((performance.now() - t) / 1000));
    }
  } finally {
    await registry.shutdown();
  }
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) as unknown as CapabilityFigures;
}
