import { actor, UserError } from "../src/index.js";

const HOUR = 60 * 60 * 1000;

export interface JobResult {
  jobId: number;
  words: number;
  longest: string;
}

/**
 * A small job queue: clients send texts to the durable `jobs` queue; the handler counts
 * words, keeps results in the actor's SQL table and running totals in its KV store, and
 * tells connected clients. An hourly alarm purges results older than a day.
 */
export const jobBoard = actor({
  state: { purges: 0 },
  db: {
    migrations: [
      "CREATE TABLE results (job_id INTEGER PRIMARY KEY, words INTEGER NOT NULL, longest TEXT NOT NULL, finished_at INTEGER NOT NULL)",
      "CREATE INDEX results_by_time ON results (finished_at)",
    ],
  },
  onCreate: (c) => {
    c.schedule.after(HOUR, "purge", 24 * HOUR);
  },
  queues: {
    jobs: {
      handler: async (c, job: { text: string }, message): Promise<JobResult> => {
        if (typeof job?.text !== "string" || job.text.length > 100_000) throw new UserError("a job is { text } with at most 100,000 characters", { code: "invalid_job" });
        const words = job.text.split(/\s+/).filter(Boolean);
        const longest = words.reduce((a, w) => (w.length > a.length ? w : a), "");
        c.db.run("INSERT INTO results (job_id, words, longest, finished_at) VALUES (?, ?, ?, ?)", [message.id, words.length, longest, Date.now()]);
        const totals = (await c.kv.get<{ jobs: number; words: number }>("totals")) ?? { jobs: 0, words: 0 };
        await c.kv.put("totals", { jobs: totals.jobs + 1, words: totals.words + words.length });
        const result = { jobId: message.id, words: words.length, longest };
        c.broadcast("finished", result);
        return result;
      },
      maxAttempts: 3,
    },
  },
  actions: {
    results: (c, limit: number = 20) =>
      c.db.query<{ job_id: number; words: number; longest: string }>("SELECT job_id, words, longest FROM results ORDER BY job_id DESC LIMIT ?", [Math.max(1, Math.min(500, limit))]),
    totals: async (c) => (await c.kv.get<{ jobs: number; words: number }>("totals")) ?? { jobs: 0, words: 0 },
    purge: (c, maxAgeMs: number) => {
      const { changes } = c.db.run("DELETE FROM results WHERE finished_at < ?", [Date.now() - maxAgeMs]);
      c.state.purges += 1;
      c.schedule.after(HOUR, "purge", maxAgeMs);
      return changes;
    },
  },
});
