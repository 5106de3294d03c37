/** What happens after a task fails: the run's continue policy (`--continue`). */
export const CONTINUE_POLICIES = ['never', 'dependencies-successful', 'always'] as const;
export type ContinuePolicy = (typeof CONTINUE_POLICIES)[number];
