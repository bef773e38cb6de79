import { simulate, emptyTotals } from "./run.js";
const totals = emptyTotals();
const t0 = Date.now();
try {
  await simulate({ seed: Number(process.argv[2] ?? 1), numRuns: Number(process.argv[3] ?? 20), totals, endOnFailure: process.argv[4] === "fast", path: process.argv[5] });
  console.log("OK", totals, Date.now() - t0, "ms");
} catch (e) {
  const m = String((e as Error).message);
  console.log(m.split("\n").slice(0, 2).join("\n"));
  console.log("CAUSE:", (e as { cause?: Error }).cause?.stack?.slice(0, 1500) ?? m.slice(-1500));
  console.log(totals, Date.now() - t0, "ms");
}
