/**
 * What the CLI exits with, one code per class of outcome, so that CI can tell them apart
 * (documented in docs/ci.md). 0, 1 and 2 are as they always were.
 */
export const EXIT = {
  /** Every task succeeded (verified by its criteria or its commands). */
  ok: 0,
  /** A task failed (or `--verify` found a regression). */
  taskFailed: 1,
  /** Bad input or configuration: a task list, a flag, a config file. */
  badInput: 2,
  /** No task failed, but one completed without evidence (its commands were replaced and it has no criteria): not ticked, its dependants not started. */
  unverified: 3,
  /** The run's LLM budget is spent: `resume --budget` continues it. */
  budget: 4,
  /** The infrastructure is missing or unreachable: NATS, nats-server, the LLM endpoint. */
  infrastructure: 5,
  /** Interrupted (Ctrl-C, `--pause-after`, or through MCP): `resume` continues it. 128 + SIGINT, as shells do. */
  interrupted: 130,
} as const;
