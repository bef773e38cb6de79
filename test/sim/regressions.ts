/**
 * Schedules that once broke an invariant, by the seed and fast-check path that generate them.
 * Each replays exactly; docs/RELIABILITY.md tells which fix each one guards.
 */
export const REGRESSIONS: ReadonlyArray<{ bug: string; seed: number; path: string }> = [];
