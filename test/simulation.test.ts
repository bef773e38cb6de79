import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ActorQueues, type QueueHost } from "../src/actor/queue.js";
import { cbor } from "../src/actor/state-codec.js";
import type { StoreWrite } from "../src/storage/types.js";
import { freshScheduler } from "./sim/fresh-scheduler.js";
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
    await simulate({ seed: r.seed, numRuns: 1, path: r.path, endOnFailure: true, byKeyWrites: r.byKeyWrites ?? false });
  });
}

// A failure must replay from its seed and path alone. fast-check's own scheduler() gives the shrink
// candidates of one schedule a shared random stream, so each ordered its tasks differently.
test("simulation: every run of a schedule, shrink candidates included, orders its tasks alike", async () => {
  const order = async (s: fc.Scheduler) => {
    const out: number[] = [];
    for (let i = 0; i < 6; i++) void s.schedule(Promise.resolve(i)).then((v) => out.push(v));
    await s.waitAll();
    return out.join("");
  };
  let failing: string | undefined;
  const candidates: string[] = [];
  const property = fc.asyncProperty(fc.tuple(freshScheduler(), fc.nat(100)), async ([s, n]) => {
    const o = await order(s);
    if (failing !== undefined) candidates.push(o);
    if (n >= 5) failing ??= o;
    return n < 5;
  });
  await assert.rejects(fc.assert(property, { seed: 1, numRuns: 50 }));
  assert.ok(failing !== undefined && candidates.length > 3, `only ${candidates.length} shrink candidates ran`);
  assert.deepEqual(new Set(candidates), new Set([failing]));
});

// The simulation's seed-782371973 schedule, without the scheduler: the turn loop's contract with a
// queue handler, played by hand. An SQL turn stages the message's acknowledgement at its commit
// point, then waits for the actor's previous commit; a pump meanwhile queues the next message's
// turn; the SQL commit then finds the disk full, the turn rolls back and stages a retry instead.
test("simulation regression, by hand: a refused SQL commit after a handler's turn never handles or acknowledges a message twice", () => {
  type Staged = { writes: StoreWrite[]; undo: Array<() => void>; settle: Array<() => void> };
  const gauge = { value: 0, inc: (n = 1) => void (gauge.value += n), dec: (n = 1) => void (gauge.value -= n), set: (v: number) => void (gauge.value = v) };
  const noop = { inc: () => {}, observe: () => {} };
  const inbox: Array<{ run: (ctx: unknown) => unknown; finish: (ok: boolean, output: unknown, error: unknown) => void }> = [];
  const ran: number[] = [];
  const acked: number[] = [];
  let lowest = 0;
  let turn: Staged | undefined;
  const host: QueueHost = {
    id: "a1",
    actorName: "acct",
    specs: new Map([["jobs", { handler: (_c: unknown, body: unknown) => void ran.push(body as number), maxAttempts: 3, backoffMs: 0 }]]),
    metrics: new Map([["jobs", { depth: gauge, sent: noop, processed: { ok: noop, error: noop, dead: noop }, wait: noop }]]),
    runHandler: (_label, run, finish) => void inbox.push({ run, finish }),
    stageWith: (write, undo, settle) => {
      turn!.writes.push(write);
      turn!.undo.push(undo);
      turn!.settle.push(settle);
    },
    decided: () => {},
    messageSettled: () => {},
    log: { error: () => {} },
  };
  const queues = new ActorQueues(host);
  const durable = (t: Staged) => {
    for (const w of t.writes) if (w.kind === "queueAck") acked.push(w.seq);
    for (const f of t.settle) f();
    lowest = Math.min(lowest, gauge.value);
  };
  /** One handler turn; `meanwhile` runs while its SQL commit waits, and `refused` fails that commit. */
  const runTurn = (opts: { refused?: boolean; meanwhile?: () => void } = {}) => {
    const task = inbox.shift()!;
    turn = { writes: [], undo: [], settle: [] };
    const t = turn;
    task.finish(true, task.run({}), undefined);
    opts.meanwhile?.();
    if (opts.refused) {
      for (const u of t.undo.reverse()) u();
      turn = { writes: [], undo: [], settle: [] };
      task.finish(false, undefined, new Error("database or disk is full"));
      durable(turn);
    } else durable(t);
    turn = undefined;
    queues.pump();
  };
  const message = (seq: number) => ({ seq, actorId: "a1", queue: "jobs", body: cbor.encode(seq), enqueuedAt: 0, attempts: 0, availableAt: 0 });

  gauge.inc(2);
  queues.deliver([message(1), message(2)]);
  runTurn({ refused: true, meanwhile: () => queues.pump() });
  for (let i = 0; i < 10 && inbox.length > 0; i++) runTurn();

  assert.deepEqual(ran, [1, 1, 2], "message 1's refused attempt, message 1 again, then message 2");
  assert.deepEqual(acked, [1, 2]);
  assert.equal(gauge.value, 0);
  assert.equal(lowest, 0, "queue depth went negative");
});
