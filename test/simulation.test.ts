import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyTotals, simulate } from "./sim/run.js";
import { REGRESSIONS } from "./sim/regressions.js";

// The deterministic simulation (test/sim/): the real runtime on a fake clock over a store that
// fails, delays and crashes as the seed says, with the invariants checked after every step.
// `npm run stress` explores fresh seeds for longer; docs/RELIABILITY.md says how to replay one.
const SEEDS = (process.env.TROUPE_SIM_SEEDS ?? "101,202,303").split(",").map(Number);
const RUNS = Number(process.env.TROUPE_SIM_RUNS ?? 600);

test(`simulation: ${RUNS} schedules from each of the seeds ${SEEDS.join(", ")}`, { timeout: 600_000 }, async () => {
  const totals = emptyTotals();
  for (const seed of SEEDS) await simulate({ seed, numRuns: RUNS, totals });
  console.log(`simulation: ${JSON.stringify(totals)}`);
  assert.equal(totals.runs, SEEDS.length * RUNS);
  // The workload must reach what it claims to test; a generator change that starved one would pass silently.
  for (const k of ["writes", "messages", "alarms", "crashes", "restarts", "commitsFailed", "commitsLate", "sqlFull"] as const) assert.ok(totals[k] > 0, `no ${k} in ${totals.runs} schedules`);
});

for (const r of REGRESSIONS) {
  test(`simulation regression: ${r.bug}`, { timeout: 120_000 }, async () => {
    await simulate({ seed: r.seed, numRuns: 1, path: r.path, endOnFailure: true });
  });
}
