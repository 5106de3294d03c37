/**
 * Settings that were renamed or split, and what to tell a config file or a command line that
 * still uses the old name. Apart from config.ts so that the CLI can say it without loading zod.
 */
export const CONCURRENCY_SPLIT = {
  config:
    'execution.concurrency was split in two: execution.taskConcurrency (tasks at once) and execution.commandConcurrency (commands of one task at once)',
  flag: '--concurrency was split in two: --task-concurrency N (tasks at once) and --command-concurrency N (commands of one task at once)',
};

/** The `optimizations` switches turned the system into the benchmark's reference workflow. */
export const OPTIMIZATIONS_REMOVED =
  "optimizations is no longer a setting: its switches turned the system into the benchmark's reference workflow, which the benchmark now sets up itself (bench/reference.ts)";
