import { createHash } from 'node:crypto';
import * as z from 'zod';

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

/** How a failure reads: exit status plus the last lines it printed. */
export const failureText = (f: FailureOutput): string =>
  `${f.exitCode}|${f.timedOut}|${(f.stderrTail || f.stdoutTail).trim().split('\n').slice(-3).join('\n')}`;

/**
 * The same command failing the same way: what a learned fix is filed under. A cryptographic hash,
 * since a collision would apply one failure's fix to another.
 */
export function failureKey(f: Failure): string {
  return createHash('sha256')
    .update(`${f.command}\n${failureText(f)}`)
    .digest('hex')
    .slice(0, 24);
}
