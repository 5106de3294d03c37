import { z } from 'zod';

/**
 * A failed command as every stage sees it, one shape from the executor to the patterns: the
 * command, how it ended, and the tails of what it printed.
 */
export const FailureSchema = z.object({
  command: z.string(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  stdoutTail: z.string(),
  stderrTail: z.string(),
});
export type Failure = z.infer<typeof FailureSchema>;
/** How a command ended, without the command itself (what a result knows). */
export type FailureOutput = Omit<Failure, 'command'>;
