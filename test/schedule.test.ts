import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import { createClient, type ActorError } from "../src/client/index.js";
import { startChild, type ChildServer } from "./helpers/child-server.js";
import { parseSamples, sampleValue } from "./helpers/exposition.js";
import { sleep, startServer, tempDir, waitFor } from "./helpers/harness.js";

const TOKEN = "schedule-test-token";
const wakes: string[] = [];

const timer = actor({
  state: { log: [] as string[] },
  onWake: (c) => {
    wakes.push(c.key[0]!);
  },
  actions: {
    after: (c, ms: number, tag: string) => c.schedule.after(ms, "record", tag),
    at: (c, at: number, tag: string) => c.schedule.at(at, "record", tag),
    afterFailing: (c, ms: number) => c.schedule.after(ms, "explode"),
    cancel: (c, id: string) => c.schedule.cancel(id),
    list: (c) => c.schedule.list(),
    record: (c, tag: string) => {
      c.state.log.push(tag);
    },
    explode: () => {
      throw new Error("scheduled failure");
    },
    log: (c) => c.state.log,
    scheduleThenThrow: (c) => {
      c.schedule.after(10, "record", "never");
      throw new Error("rolled back");
    },
    badSchedule: (c, what: string) => {
      if (what === "action") return c.schedule.after(10, "nope");
      if (what === "ms") return c.schedule.after(-5, "record", "x");
      return c.schedule.after(10, "record", () => 1);
    },
  },
  options: { sleepTimeoutMs: 100 },
});

describe("c.schedule", () => {
  test("after, at, list, cancel; alarms fire in order and wake a sleeping actor", async () => {
    const h = await startServer({ use: { timer }, metrics: { token: TOKEN } });
    try {
      const t = h.client.timer.getOrCreate(["a"]);
      // Alarms far enough out that the calls and the scrape below finish first on a loaded machine.
      const t0 = Date.now();
      const id1 = await t.after(1400, "second");
      await t.at(t0 + 1000, "first");
      const id3 = await t.after(1200, "cancelled");
      const listed = await t.list();
      assert.deepEqual(listed.map((a) => a.args[0]), ["first", "cancelled", "second"]);
      assert.equal(listed.find((a) => a.id === id1)!.action, "record");
      assert.equal(await t.cancel(id3), true);
      assert.equal(await t.cancel(id3), false, "cancelling twice finds nothing");
      assert.equal(await t.cancel("no-such-alarm"), false);
      let s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarms_pending", { actor_name: "timer" }), 2);
      // The actor sleeps after 100 ms idle; the alarms wake it.
      await waitFor(async () => (await h.registry.start()).liveCount === 0, 2000, "actor asleep");
      const wakesBefore = wakes.filter((k) => k === "a").length;
      await sleep(Math.max(0, t0 + 1900 - Date.now()));
      assert.ok(wakes.filter((k) => k === "a").length > wakesBefore, "an alarm woke the sleeping actor");
      assert.deepEqual(await t.log(), ["first", "second"]);
      assert.deepEqual(await t.list(), []);
      s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarms_pending", { actor_name: "timer" }), 0);
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarms_fired_total", { actor_name: "timer", outcome: "ok" }), 2);
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarm_lateness_seconds_count", { actor_name: "timer" }), 2);
    } finally {
      await h.close();
    }
  });

  test("a failing scheduled action is logged and counted, fires once, and the actor lives on", async () => {
    const h = await startServer({ use: { timer }, metrics: { token: TOKEN } });
    try {
      const t = h.client.timer.getOrCreate(["f"]);
      await t.afterFailing(20);
      await t.after(60, "after-failure");
      await waitFor(async () => (await t.log()).includes("after-failure"), 3000, "later alarm");
      const s = parseSamples(await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarms_fired_total", { actor_name: "timer", outcome: "error" }), 1);
      assert.equal(sampleValue(s, "troupe_actor_schedule_alarms_pending", { actor_name: "timer" }), 0, "the failed alarm is not retried");
    } finally {
      await h.close();
    }
  });

  test("scheduling is part of the turn: a throwing action schedules nothing; bad input is refused", async () => {
    const h = await startServer({ use: { timer } });
    try {
      const t = h.client.timer.getOrCreate(["r"]);
      await assert.rejects(t.scheduleThenThrow());
      assert.deepEqual(await t.list(), []);
      await assert.rejects(t.badSchedule("action"), (e: ActorError) => e.code === "action_not_found");
      await assert.rejects(t.badSchedule("ms"), (e: ActorError) => e.code === "invalid_schedule");
      await assert.rejects(t.badSchedule("args"), (e: ActorError) => e.code === "invalid_state" && /args\[0\] is a function/.test(e.message));
      await sleep(50);
      assert.deepEqual(await t.log(), []);
    } finally {
      await h.close();
    }
  });
});

describe("alarms across a real process restart", () => {
  test("an alarm missed while the process was down fires after restart, once", async () => {
    const dataDir = tempDir();
    let server: ChildServer | undefined;
    try {
      server = await startChild("test/fixtures/alarm-server.ts", { TROUPE_DATA_DIR: dataDir });
      let client = createClient<any>(server.url) as any;
      await client.timer.getOrCreate(["x"]).scheduleIn(700, "missed");
      await client.timer.getOrCreate(["x"]).scheduleIn(60_000, "later");
      server.child.kill("SIGKILL");
      await server.exited;
      await sleep(900);

      server = await startChild("test/fixtures/alarm-server.ts", { TROUPE_DATA_DIR: dataDir });
      client = createClient<any>(server.url) as any;
      await waitFor(async () => (await client.timer.getOrCreate(["x"]).get()).fired.includes("missed"), 5000, "missed alarm fired");
      assert.deepEqual(await client.timer.getOrCreate(["x"]).get(), { fired: ["missed"], pending: ["later"] });
      server.child.kill("SIGTERM");
      await server.exited;

      server = await startChild("test/fixtures/alarm-server.ts", { TROUPE_DATA_DIR: dataDir });
      client = createClient<any>(server.url) as any;
      await sleep(300);
      assert.deepEqual(await client.timer.getOrCreate(["x"]).get(), { fired: ["missed"], pending: ["later"] }, "it did not fire twice");
    } finally {
      server?.child.kill("SIGKILL");
      await server?.exited;
    }
  });
});
