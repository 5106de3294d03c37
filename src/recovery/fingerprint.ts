import { failureText, type FailureOutput } from '../events/failure.ts';

/** A failure's identity for loop detection: the same end, the same last lines. */
export function failureFingerprint(f: FailureOutput): string {
  const text = failureText(f);
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return (hash >>> 0).toString(16);
}
