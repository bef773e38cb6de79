import { spawnSync } from "node:child_process";

/** Runs `promtool check metrics` on text; fails loudly (never skips) when promtool is missing. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error("promtool is not installed: run `bash scripts/ensure-promtool.sh` (or `apt-get install prometheus`); `npm test` does this for you");
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
