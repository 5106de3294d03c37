import type { FailureOutput } from '../events/failure.ts';

/** A failure's identity for loop detection: exit status plus the last lines it printed. */
export function failureFingerprint(f: FailureOutput): string {
  const text = `${f.exitCode}|${f.timedOut}|${(f.stderrTail || f.stdoutTail).trim().split('\n').slice(-3).join('\n')}`;
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return (hash >>> 0).toString(16);
}
