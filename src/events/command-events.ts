import * as z from 'zod';
import { defineEvent } from './event-envelope.ts';
import { routeAttempt } from './site-events.ts';

/** The executor's commands and the recoveries of a failed one. */

const CommandPurposeSchema = z.enum(['plan', 'recovery', 'check', 'decision']);
const RecoverySourceSchema = z.enum(['pattern', 'learned', 'llm']);

const commandRef = {
  commandId: z.string(),
  command: z.string(),
  attempt: z.number().int().nonnegative(),
  purpose: CommandPurposeSchema,
};
const recoveryRef = {
  commandId: z.string(),
  attempt: z.number().int().nonnegative(),
  patternId: z.string().optional(),
  strategyId: z.string(),
  source: RecoverySourceSchema,
};
export const CommandStarted = defineEvent(
  'CommandStarted',
  'a command began: attempt, purpose, process group, host, confinement, site',
  z.object({
    ...commandRef,
    /** Process group and host: a resumed executor ends what a dead one left running. */
    pgid: z.number().int().optional(),
    host: z.string().optional(),
    /** The confinement in force: `bwrap (...)` or `none: why`. */
    confinement: z.string().optional(),
    /** The site whose executor runs it (`--site`); none on the shared queue. */
    site: z.string().optional(),
    ...routeAttempt,
  }),
);
export const CommandHeartbeat = defineEvent(
  'CommandHeartbeat',
  'a long command is still running: elapsed time, last line',
  z.object({
    commandId: z.string(),
    attempt: z.number().int().nonnegative(),
    elapsedMs: z.number(),
    lastLine: z.string(),
  }),
);
export const CommandFinished = defineEvent(
  'CommandFinished',
  'a command ended: exit code, signal, timeout, duration, output tails (the whole output stored apart), redactions',
  z.object({
    ...commandRef,
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    timedOut: z.boolean(),
    durationMs: z.number().nonnegative(),
    startedAt: z.string(),
    stdoutTail: z.string(),
    stderrTail: z.string(),
    truncated: z.boolean(),
    /** Object-store name of the whole output when it did not fit in the tails. */
    outputRef: z.string().optional(),
    /** The sandbox refused a write: which, and how to allow it. */
    refused: z.string().optional(),
    /** Rules that blanked secrets out of the output (by name or by shape). */
    redacted: z.array(z.string()).default([]),
  }),
);
export const CommandDenied = defineEvent(
  'CommandDenied',
  'the command policy refused a command: the rule and why',
  z.object({ commandId: z.string(), command: z.string(), rule: z.string(), reason: z.string() }),
);
export const RecoveryAttempted = defineEvent(
  'RecoveryAttempted',
  "the recoverer's fix for a failed command: pattern, strategy, source (pattern, learned, llm), commands",
  z.object({ ...recoveryRef, commands: z.array(z.string()), retry: z.boolean(), diagnosis: z.string().optional() }),
);
export const RecoveryResolved = defineEvent(
  'RecoveryResolved',
  'a recovery fixed the failed command',
  z.object({ ...recoveryRef, durationMs: z.number() }),
);
export const RecoveryFailed = defineEvent(
  'RecoveryFailed',
  'a recovery did not fix it, and why',
  z.object({ ...recoveryRef, durationMs: z.number(), reason: z.string() }),
);
