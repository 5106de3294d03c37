import type { StoredEvent } from '../../events/agent-events.ts';
import { childIds } from '../../events/ids.ts';

export type ResumePoint = {
  /** Plan commands whose success is recorded: never run again. */
  done: string[];
  /** The attempt number each unfinished command resumes at, after every recorded one. */
  nextAttempt: Record<string, number>;
  recoveryAttempts: number;
  /** Process groups started on this host whose command never finished: a dead executor's. */
  orphans: number[];
};

/** Events a task records before any of its commands starts: with only these, it starts afresh. */
const BEFORE_EXECUTION = new Set<string>([
  'TaskSubmitted',
  'PlanCacheHit',
  'PlanCacheMiss',
  'PlanCreated',
  'PlanInvalidated',
]);

/** Whether the last event of a task says nothing of it ran or ended yet (so its log need not be read). */
export const notStarted = (last: StoredEvent | undefined): boolean =>
  last === undefined || BEFORE_EXECUTION.has(last.type);

/**
 * Where a redelivered task resumes, from its recorded events: results that are recorded are kept,
 * the command that was in flight runs again (at-least-once) under a new attempt number, so the
 * log never holds two different results under one event id.
 */
export function resumePoint(events: readonly StoredEvent[], host: string): ResumePoint {
  const done = new Set<string>();
  const maxAttempt = new Map<string, number>();
  const started = new Map<string, { pgid?: number; host?: string }>();
  let recoveryAttempts = 0;
  for (const e of events) {
    if (e.type === 'CommandStarted') {
      if (e.data.purpose === 'plan')
        maxAttempt.set(e.data.commandId, Math.max(maxAttempt.get(e.data.commandId) ?? 0, e.data.attempt));
      started.set(childIds.command(e.data.commandId, e.data.attempt), {
        ...(e.data.pgid ? { pgid: e.data.pgid } : {}),
        ...(e.data.host ? { host: e.data.host } : {}),
      });
    }
    if (e.type === 'CommandFinished') {
      started.delete(childIds.command(e.data.commandId, e.data.attempt));
      if (e.data.purpose === 'plan' && e.data.exitCode === 0 && !e.data.timedOut) done.add(e.data.commandId);
    }
    if (e.type === 'RecoveryAttempted') recoveryAttempts = Math.max(recoveryAttempts, e.data.attempt + 1);
    // A resolved recovery leaves its command done (benign, or a fix that did the work).
    if (e.type === 'RecoveryResolved') done.add(e.data.commandId);
  }
  const nextAttempt: Record<string, number> = {};
  for (const [id, attempt] of maxAttempt) if (!done.has(id)) nextAttempt[id] = attempt + 1;
  const orphans = [...started.values()].filter((s) => s.pgid !== undefined && s.host === host).map((s) => s.pgid!);
  return { done: [...done], nextAttempt, recoveryAttempts, orphans };
}

/**
 * Where a task starts over (its view discarded after a conflict, or lost with its executor's
 * machine): every command runs again, each under an attempt number after every recorded one.
 */
export function rerunPoint(events: readonly StoredEvent[]): ResumePoint {
  const nextAttempt: Record<string, number> = {};
  for (const e of events)
    if (e.type === 'CommandStarted' && e.data.purpose === 'plan')
      nextAttempt[e.data.commandId] = Math.max(nextAttempt[e.data.commandId] ?? 0, e.data.attempt + 1);
  return { done: [], nextAttempt, recoveryAttempts: 0, orphans: [] };
}
