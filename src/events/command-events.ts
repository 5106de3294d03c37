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
  z.object({
    commandId: z.string(),
    attempt: z.number().int().nonnegative(),
    elapsedMs: z.number(),
    lastLine: z.string(),
  }),
);
export const CommandFinished = defineEvent(
  'CommandFinished',
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
  z.object({ commandId: z.string(), command: z.string(), rule: z.string(), reason: z.string() }),
);
export const RecoveryAttempted = defineEvent(
  'RecoveryAttempted',
  z.object({ ...recoveryRef, commands: z.array(z.string()), retry: z.boolean(), diagnosis: z.string().optional() }),
);
export const RecoveryResolved = defineEvent('RecoveryResolved', z.object({ ...recoveryRef, durationMs: z.number() }));
export const RecoveryFailed = defineEvent(
  'RecoveryFailed',
  z.object({ ...recoveryRef, durationMs: z.number(), reason: z.string() }),
);
