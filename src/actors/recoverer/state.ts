import { recoveryStatsProjection } from '../../projections/recovery-stats.ts';

/**
 * What the recoverer decides on besides the request: the statistics of every strategy's outcomes
 * and the fixes learned, the fold of the log's recovery events (initial + evolve), kept as the
 * recovery-stats projection (src/projections/recovery-stats.ts).
 */
export const recovererState = recoveryStatsProjection;
