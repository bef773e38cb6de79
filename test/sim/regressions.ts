/**
 * Schedules that once broke an invariant, by the seed and fast-check path that generate them.
 * Each replays exactly; docs/RELIABILITY.md tells which fix each one guards.
 */
export const REGRESSIONS: ReadonlyArray<{ bug: string; seed: number; path: string }> = [
  { bug: "an alarm requeued from a crashed instance ran although a later turn cancelled it", seed: 3, path: "1261" },
];
