/** The first restart of a crashed worker waits this long. */
export const RESTART_BASE_MS = 100;
/** Restarts of a worker that keeps crashing wait at most this long. */
export const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before it crashed counts as having worked: its next restart is quick again. */
export const STABLE_AFTER_MS = 10_000;

/**
 * How many crashes in a row a worker slot has had, after one more crash.
 *
 * @param previous the crashes in a row before this one
 * @param uptimeMs how long the crashed worker ran
 * @returns the new count: 1 when it had run for {@link STABLE_AFTER_MS}, else one more
 */
export function crashesInARow(previous: number, uptimeMs: number): number {
  return uptimeMs >= STABLE_AFTER_MS ? 1 : previous + 1;
}

/**
 * The wait before restarting a worker that crashed `crashes` times in a row: {@link RESTART_BASE_MS},
 * doubling with each crash in a row, at most {@link RESTART_MAX_MS}.
 *
 * @param crashes crashes in a row (at least 1)
 * @returns milliseconds
 */
export function restartDelayMs(crashes: number): number {
  const exponent = Math.min(Math.max(crashes, 1) - 1, 30);
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** exponent);
}
