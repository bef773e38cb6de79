import assert from "node:assert/strict";
import { test } from "node:test";
import { ioFixtures } from "./rk-driver/fixtures-io.js";
import { describeDriverMatrix, T, setupDriverTest, sleep, waitUntil } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-schedule (tests/driver/actor-schedule.test.ts):
// alarms set with c.schedule.at / after from actions of the real rivetkit 2.3.19 client, on real
// timers (RivetKit's suite advances fake ones).

describeDriverMatrix("RivetKit driver: actor schedule", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, ioFixtures, encoding);

  test("c.schedule.at() runs the action at its time", T, async (t) => {
    const { client } = await setup(t);
    const scheduled = client.scheduled.getOrCreate();
    await scheduled.scheduleTaskAt(Date.now() + 250);
    await sleep(500);
    // Real timers: a loaded machine may fire the alarm a little late, so poll briefly.
    await waitUntil(async () => {
      assert.ok((await scheduled.getLastRun()) > 0);
      assert.equal(await scheduled.getScheduledCount(), 1);
    });
  });

  test("c.schedule.after() runs the action after its delay", T, async (t) => {
    const { client } = await setup(t);
    const scheduled = client.scheduled.getOrCreate();
    await scheduled.scheduleTaskAfter(250);
    await sleep(500);
    // Real timers: a loaded machine may fire the alarm a little late, so poll briefly.
    await waitUntil(async () => {
      assert.ok((await scheduled.getLastRun()) > 0);
      assert.equal(await scheduled.getScheduledCount(), 1);
    });
  });

  test("a scheduled action can use c.db", T, async (t) => {
    const { client } = await setup(t);
    const actor = client.scheduledDb.getOrCreate();
    await actor.scheduleDbWrite(250);
    await sleep(500);
    await waitUntil(async () => {
      assert.equal(await actor.getLogCount(), 1);
      assert.equal(await actor.getScheduledCount(), 1);
    });
  });

  test("several alarms run in the order of their times", T, async (t) => {
    const { client } = await setup(t);
    const scheduled = client.scheduled.getOrCreate();
    await scheduled.clearHistory();
    await scheduled.scheduleTaskAfterWithId("first", 250);
    await scheduled.scheduleTaskAfterWithId("second", 750);
    await scheduled.scheduleTaskAfterWithId("third", 1250);
    await sleep(500);
    await waitUntil(async () => assert.equal((await scheduled.getTaskHistory())[0], "first"));
    await sleep(500);
    await waitUntil(async () => assert.deepEqual((await scheduled.getTaskHistory()).slice(0, 2), ["first", "second"]));
    await sleep(500);
    await waitUntil(async () => assert.deepEqual(await scheduled.getTaskHistory(), ["first", "second", "third"]));
  });
});
