import assert from "node:assert/strict";
import { test } from "node:test";
import { jobBoard } from "../examples/job-board.js";
import { startServer, waitFor } from "./helpers/harness.js";

test("the job-board example: queue in, SQL results, KV totals, events, scheduled purge", async () => {
  const h = await startServer({ use: { jobBoard } });
  try {
    const board = h.client.jobBoard.getOrCreate(["t"]);
    const conn = board.connect();
    const finished: unknown[] = [];
    conn.on("finished", (r) => finished.push(r));
    await conn.ready();
    const r = await board.send("jobs", { text: "one two three fourteen" }, { wait: true });
    assert.deepEqual(r.output, { jobId: r.messageId, words: 4, longest: "fourteen" });
    await board.send("jobs", { text: "a b" });
    await waitFor(async () => (await board.totals()).jobs === 2, 2000, "second job");
    assert.deepEqual(await board.totals(), { jobs: 2, words: 6 });
    assert.deepEqual((await board.results()).map((x) => x.words), [2, 4]);
    await waitFor(() => finished.length === 2, 2000, "events");
    await assert.rejects(board.send("jobs", { text: 42 }, { wait: true }), (e: { code: string }) => e.code === "queue_message_dead");
    assert.equal(await board.purge(0), 2);
    assert.deepEqual(await board.results(), []);
    await conn.dispose();
  } finally {
    await h.close();
  }
});
