import { taskHistoryProjection } from '../../projections/task-history.ts';

/**
 * What the memory actor keeps: the history of tasks, the fold of the log (initial + evolve), as
 * the task-history projection (src/projections/task-history.ts) the planner reads as context.
 */
export const memoryState = taskHistoryProjection;
