import type { Config } from '../../config.ts';

/**
 * When the memory actor writes the history: every N events or T ms of the configuration's
 * snapshot cadence, and at least every second, as it is read back as planning context.
 */
export const historyWrites = (snapshots: Config['snapshots']) => ({
  everyEvents: snapshots.everyEvents,
  everyMs: Math.min(1000, snapshots.everyMs),
});
