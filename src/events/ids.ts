/**
 * The tail that sets a task's later plans apart (`:r1`, `:r2` after each PlanInvalidated) in
 * event ids, work-item ids and decision keys; empty for the first plan, so ids from before plan
 * revisions existed keep their form.
 */
export const revisionSuffix = (revision: number): string => (revision > 0 ? `:r${revision}` : '');
