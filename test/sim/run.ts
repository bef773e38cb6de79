import fc from "fast-check";
import { World, type Cmd } from "./world.js";
import type { FaultRates } from "./faulty-store.js";
import { freshScheduler } from "./fresh-scheduler.js";

const slot = fc.integer({ min: 0, max: 3 });

/** The workload: everything a user can cause, plus the clock, the scheduler and crashes. */
export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("write" as const), a: slot, kinds: fc.integer({ min: 0, max: 15 }), mode: fc.constantFrom("ok", "ok", "ok", "throw", "hang", "slow") as fc.Arbitrary<"ok" | "throw" | "hang" | "slow"> }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("send" as const), a: slot, wait: fc.boolean(), hang: fc.integer({ min: 0, max: 7 }).map((x) => x === 0), sql: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("inbox" as const), a: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("take" as const), a: slot, timeoutMs: fc.constantFrom(0, 20) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("connect" as const), a: slot, bad: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("disconnect" as const), i: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("raw" as const), a: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("rawSocket" as const), a: slot, closeEarly: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("sleep" as const), a: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("destroy" as const), a: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("relay" as const), a: slot, b: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("ping" as const), a: slot, b: slot }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unarm" as const), a: slot, pick: fc.nat(10), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("crash" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("restart" as const) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("release" as const), n: fc.integer({ min: 1, max: 4 }) }) },
);

// Faults strike at a few distinct rates; a quarter of the runs have none, so exactly-once is judged too.
const ratesArb: fc.Arbitrary<FaultRates> = fc.oneof(
  fc.constant({ fail: 0, late: 0, sqlFull: 0 }),
  fc.record({ fail: fc.constantFrom(0, 0.03, 0.1, 0.25), late: fc.constantFrom(0, 0.1, 0.4), sqlFull: fc.constantFrom(0, 0.05, 0.2) }),
);

export interface SimTotals {
  runs: number;
  steps: number;
  writes: number;
  messages: number;
  alarms: number;
  crashes: number;
  restarts: number;
  commitsFailed: number;
  commitsLate: number;
  sqlFull: number;
}

export function emptyTotals(): SimTotals {
  return { runs: 0, steps: 0, writes: 0, messages: 0, alarms: 0, crashes: 0, restarts: 0, commitsFailed: 0, commitsLate: 0, sqlFull: 0 };
}

/** One schedule: the steps, then quiescence, shutdown, a clean restart and the audit. */
export async function runSchedule(s: fc.Scheduler, rates: FaultRates, faultSeed: number, cmds: readonly Cmd[], totals: SimTotals | undefined, byKeyWrites: boolean): Promise<void> {
  const world = new World(s, rates, faultSeed, byKeyWrites);
  try {
    const trace = process.env.TROUPE_SIM_TRACE === "1" ? (m: string) => process.stderr.write(`${m}\n`) : undefined;
    trace?.(`schedule: ${cmds.length} steps, rates ${JSON.stringify(rates)}`);
    await world.start();
    for (const cmd of cmds) {
      trace?.(`  ${JSON.stringify(cmd)}`);
      await world.step(cmd);
    }
    trace?.("  quiesce");
    await world.quiesce();
    trace?.("  audit");
    const audited = await world.audit();
    if (totals) {
      const st = world.stats;
      totals.runs++;
      totals.steps += cmds.length;
      totals.writes += audited.writes;
      totals.messages += audited.messages;
      totals.alarms += audited.alarms;
      totals.crashes += st.crashes;
      totals.restarts += st.restarts;
      totals.commitsFailed += st.failed;
      totals.commitsLate += st.late;
      totals.sqlFull += st.sqlFull;
    }
    await world.end();
  } finally {
    world.stop();
  }
}

export const scheduleArb = fc.tuple(freshScheduler(), ratesArb, fc.integer(), fc.array(cmdArb, { minLength: 1, maxLength: 60, size: "max" }));

/**
 * Runs `numRuns` schedules from `seed`; a failure throws fast-check's report with its seed and path.
 * `byKeyWrites: false` replays schedules recorded before every other write named its actor by key.
 */
export async function simulate(opts: { seed: number; numRuns: number; path?: string; totals?: SimTotals; endOnFailure?: boolean; byKeyWrites?: boolean }): Promise<void> {
  // Every timer of the world is fake; a real one keeps the process alive while it runs.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    await fc.assert(
      fc.asyncProperty(scheduleArb, async ([s, rates, faultSeed, cmds]) => runSchedule(s, rates, faultSeed, cmds, opts.totals, opts.byKeyWrites ?? true)),
      { seed: opts.seed, numRuns: opts.numRuns, path: opts.path, endOnFailure: opts.endOnFailure ?? false, verbose: 1 },
    );
  } finally {
    clearInterval(keepAlive);
  }
}
