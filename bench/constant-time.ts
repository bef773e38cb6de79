import { checkBearer, tokenAuth } from "../src/routes/bearer-auth.js";
import { fmt, table } from "./stats.js";

// Whether the bearer check's time depends on where a wrong token differs from the right one.
// A statistic, not a test: on a shared machine it cannot fail reliably (a naive `===` passes
// too). test/bearer-auth.test.ts pins the structure that makes the check constant-time.
const TOKEN = "k7Qx2-constant-time-token-9fA3zLm0";

export interface ConstantTimeFigures {
  samples: number;
  meanNs: { first: number; last: number; control: number };
  /** Cohen's d, first-byte vs last-byte wrong tokens. */
  dPosition: number;
  /** Cohen's d between two last-byte wrong tokens, which must take the same time: the noise floor. */
  dControl: number;
}

function sampleNs(header: string, digest: Buffer, reps: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) checkBearer(header, digest);
  return Number(process.hrtime.bigint() - t) / reps;
}

function stats(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

/** Cohen's d between two samples (pooled standard deviation). */
function effect(a: number[], b: number[]): number {
  const x = stats(a);
  const y = stats(b);
  return (x.mean - y.mean) / Math.sqrt((x.sd ** 2 + y.sd ** 2) / 2);
}

export function runConstantTimeBench(samples = 1500, reps = 50): ConstantTimeFigures {
  const digest = (tokenAuth(TOKEN) as { digest: Buffer }).digest;
  const firstByte = `Bearer X${TOKEN.slice(1)}`;
  const lastByte = `Bearer ${TOKEN.slice(0, -1)}X`;
  const same = `Bearer ${TOKEN.slice(0, -1)}Y`;
  const groups: Record<"first" | "last" | "control", number[]> = { first: [], last: [], control: [] };
  for (let i = 0; i < 300; i++) sampleNs(firstByte, digest, reps); // warm up
  // Interleave the groups so drift on a shared machine hits them alike.
  for (let i = 0; i < samples; i++) {
    groups.first.push(sampleNs(firstByte, digest, reps));
    groups.last.push(sampleNs(lastByte, digest, reps));
    groups.control.push(sampleNs(same, digest, reps));
  }
  return {
    samples,
    meanNs: { first: stats(groups.first).mean, last: stats(groups.last).mean, control: stats(groups.control).mean },
    dPosition: effect(groups.first, groups.last),
    dControl: effect(groups.last, groups.control),
  };
}

export async function run(): Promise<ConstantTimeFigures> {
  const f = runConstantTimeBench();
  console.log(`Bearer token check timing (${f.samples} interleaved samples of 50 checks per group; Cohen's d)`);
  console.log(
    table(
      ["figure", "value"],
      [
        ["mean per check, wrong first byte", `${fmt(f.meanNs.first)} ns`],
        ["mean per check, wrong last byte", `${fmt(f.meanNs.last)} ns`],
        ["mean per check, control (another wrong last byte)", `${fmt(f.meanNs.control)} ns`],
        ["d, first vs last byte", fmt(f.dPosition, 3)],
        ["d, control (noise floor)", fmt(f.dControl, 3)],
      ],
    ),
  );
  // The old test's rule: a control over 0.2 means the noise wins; otherwise the position effect
  // must stay within 0.2 of the control.
  const verdict =
    Math.abs(f.dControl) > 0.2
      ? "too noisy to judge (|control d| > 0.2)"
      : Math.abs(f.dPosition) < 0.2 + Math.abs(f.dControl)
        ? "no position effect beyond the noise"
        : "TIMING DEPENDS ON WHERE THE TOKEN DIFFERS";
  console.log(`verdict: ${verdict}\n`);
  return f;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
