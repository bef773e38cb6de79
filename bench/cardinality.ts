import { pino } from "pino";
import { timedMedian } from "./stats.js";
import { actor, setup } from "../src/index.js";

/** /metrics size with 1 and with 10,000 live actors of one type: it must not move. */
export interface CardinalityFigures {
  rows: Array<{ actors: number; series: number; bytes: number; renderMs: number }>;
}

const counter = actor({ state: { count: 0 }, actions: { increment: (c) => ++c.state.count } });

export async function runCardinalityBench(steps = [1, 1000, 10_000]): Promise<CardinalityFigures> {
  const registry = setup({ use: { counter }, storage: { driver: "memory" }, logger: pino({ level: "silent" }), metrics: { token: "bench" } });
  const manager = await registry.start();
  const rows: CardinalityFigures["rows"] = [];
  let created = 0;
  try {
    for (const target of steps) {
      while (created < target) {
        const batch = [];
        for (let i = 0; i < 200 && created < target; i++, created++) {
          batch.push(manager.resolve("counter", [`k${created}`], "getOrCreate").then((r) => manager.callAction(r.actorId, "increment", [])));
        }
        await Promise.all(batch);
      }
      const { result: text, medianMs: renderMs } = await timedMedian(10, () => registry.metrics.render());
      const series = text.split("\n").filter((l) => l.startsWith("troupe_")).length;
      rows.push({ actors: manager.liveCount, series, bytes: Buffer.byteLength(text), renderMs });
    }
  } finally {
    await registry.shutdown();
  }
  return { rows };
}
