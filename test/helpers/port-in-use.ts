import type { RecoverRequest } from '../../src/events/work-commands.ts';

/**
 * A server that cannot listen because its port is taken: the failure the tests of learned
 * strategy order record outcomes for (its pattern, `port-in-use`, has several strategies).
 */
export const portInUseFailure = (workdir: string): RecoverRequest => ({
  runId: 'r',
  taskId: '1',
  workdir,
  commandId: 'c1',
  command: 'node server.js',
  exitCode: 1,
  timedOut: false,
  stdoutTail: '',
  stderrTail: 'Error: listen EADDRINUSE: address already in use :::3000\n',
  attempt: 0,
  tried: [],
  llm: 'offline',
});

/** The recovery fields of one outcome of a `port-in-use` strategy, on command `c<i>`. */
export const portInUseOutcome = (strategyId: string, i: number) => ({
  commandId: `c${i}`,
  attempt: 0,
  patternId: 'port-in-use',
  strategyId,
  source: 'pattern' as const,
  durationMs: 5,
});
