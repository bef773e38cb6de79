/**
 * The simulation from the command line.
 *   node --import tsx test/sim/cli.ts --seed=N [--runs=R] [--path=P] [--trace]   replay or explore one seed
 *   node --import tsx test/sim/cli.ts --seconds=S [--runs=R]                     stress: fresh seeds until time or runs are spent
 * A failure prints its seed and path; `--seed=N --path=P --trace` replays it step by step. A search
 * replays the shrunk path once more on its own and says so if it passes there. `--no-by-key` replays
 * a schedule recorded before every other write named its actor by key (test/sim/regressions.ts).
 */
import { emptyTotals, simulate, type SimTotals } from "./run.js";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (process.argv.includes("--trace")) process.env.TROUPE_SIM_TRACE = "1";
const byKeyWrites = !process.argv.includes("--no-by-key");

function summary(t: SimTotals, ms: number): string {
  return `${t.runs} schedules, ${t.steps} steps in ${(ms / 1000).toFixed(1)} s (${Math.round((t.runs * 1000) / ms)}/s); checked ${t.writes} acknowledged writes, ${t.messages} messages, ${t.alarms} alarms; injected ${t.crashes} crashes, ${t.restarts} restarts, ${t.commitsFailed} refused commits, ${t.commitsLate} late commits, ${t.sqlFull} full-disk SQL commits; violations: `;
}

async function one(seed: number, runs: number, path: string | undefined, totals: SimTotals): Promise<boolean> {
  try {
    await simulate({ seed, numRuns: runs, path, totals, endOnFailure: path !== undefined, byKeyWrites });
    return true;
  } catch (err) {
    const message = String((err as Error).message);
    const where = /\{ seed: (-?\d+), path: "([^"]*)"/.exec(message);
    console.log(`FAILED: ${(err as { cause?: Error }).cause?.message ?? message.split("\n")[0]}`);
    if (where) {
      console.log(`replay: node --import tsx test/sim/cli.ts --seed=${where[1]} --path=${where[2]}${byKeyWrites ? "" : " --no-by-key"} --trace`);
      // A failure must replay from its seed and path alone: one that does not is the harness's defect.
      if (path === undefined && !(await replays(Number(where[1]), where[2]!))) console.log("NOT REPLAYABLE: that path passes on its own, so the failure depended on earlier schedules in this process");
    }
    return false;
  }
}

async function replays(seed: number, path: string): Promise<boolean> {
  try {
    await simulate({ seed, numRuns: 1, path, endOnFailure: true, byKeyWrites });
    return false;
  } catch {
    return true;
  }
}

const started = Date.now();
const totals = emptyTotals();
const seconds = Number(arg("seconds") ?? 0);
let failures = 0;
if (seconds > 0) {
  const maxRuns = Number(arg("runs") ?? Number.POSITIVE_INFINITY);
  const chunk = 200;
  while (Date.now() - started < seconds * 1000 && totals.runs < maxRuns) {
    const seed = (Math.random() * 2 ** 31) | 0;
    // Said first, so a chunk that takes long (shrinking a failure) can be found again.
    console.log(`seed ${seed}: ${chunk} schedules`);
    if (!(await one(seed, chunk, undefined, totals))) failures++;
  }
} else {
  const ok = await one(Number(arg("seed") ?? 1), Number(arg("runs") ?? (arg("path") ? 1 : 100)), arg("path"), totals);
  if (!ok) failures++;
}
console.log(summary(totals, Date.now() - started) + failures);
process.exitCode = failures > 0 ? 1 : 0;
