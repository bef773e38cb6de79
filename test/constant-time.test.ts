import assert from "node:assert/strict";
import { test } from "node:test";
import { checkBearer, tokenAuth } from "../src/routes/bearer-auth.js";

const TOKEN = "k7Qx2-constant-time-token-9fA3zLm0";
const digest = (tokenAuth(TOKEN) as { digest: Buffer }).digest;

function sampleNs(header: string, reps: number): number {
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

test("the token check takes the same time wherever a wrong token differs (statistical; skipped when the machine is too noisy)", (t) => {
  const firstByte = `Bearer X${TOKEN.slice(1)}`;
  const lastByte = `Bearer ${TOKEN.slice(0, -1)}X`;
  const same = `Bearer ${TOKEN.slice(0, -1)}Y`;
  const groups: Record<"first" | "last" | "control", number[]> = { first: [], last: [], control: [] };
  for (let i = 0; i < 300; i++) sampleNs(firstByte, 50); // warm up
  // Interleave the groups so drift on a shared machine hits them alike.
  for (let i = 0; i < 1500; i++) {
    groups.first.push(sampleNs(firstByte, 50));
    groups.last.push(sampleNs(lastByte, 50));
    groups.control.push(sampleNs(same, 50));
  }
  const dPosition = effect(groups.first, groups.last);
  const dControl = effect(groups.last, groups.control);
  const summary = `effect size first-vs-last-byte d=${dPosition.toFixed(3)}, control (two last-byte tokens) d=${dControl.toFixed(3)}, mean ${stats(groups.first).mean.toFixed(0)} ns`;
  console.log(`constant time: ${summary}`);
  // The control compares two inputs that must take the same time; if even it differs, the noise wins.
  if (Math.abs(dControl) > 0.2) {
    t.skip(`machine too noisy to judge (${summary})`);
    return;
  }
  assert.ok(Math.abs(dPosition) < 0.2 + Math.abs(dControl), `timing depends on where the token differs: ${summary}`);
});
