import type { DoneActorEvent } from 'xstate';
import type { PlanCommand } from '../../plan/plan-schema.ts';
import { meaningfulLine } from '../../exec/output-summary.ts';
import { failureFingerprint } from '../../recovery/fingerprint.ts';
import type { CommandOutcome, ExecutorContext, ExecutorOutput, RecoveryRecord } from './types.ts';
import { childIds } from '../../events/ids.ts';

/** The executor machine's context updates: pure functions of the context and what happened. */

type DoneEvent = DoneActorEvent<unknown, string>;

export function timeout(c: PlanCommand): { timeoutMs?: number } {
  return c.timeoutMs ? { timeoutMs: c.timeoutMs } : {};
}

export function failureText(context: ExecutorContext): string {
  const f = context.failure!;
  const cmd = context.commands[f.commandId]!;
  const why = f.outcome.timedOut ? 'timed out' : `exited ${f.outcome.exitCode}`;
  const detail = meaningfulLine(f.outcome.stderrTail, f.outcome.stdoutTail);
  return `\`${cmd.command.split('\n')[0]}\` ${why}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
}

export function markFailedAs(context: ExecutorContext, state: 'done' | 'waiting'): Partial<ExecutorContext> {
  const id = context.failure!.commandId;
  const cmd = context.commands[id]!;
  return {
    commands: {
      ...context.commands,
      [id]: { ...cmd, state, attempt: state === 'waiting' ? cmd.attempt + 1 : cmd.attempt },
    },
    failure: undefined,
    pendingFix: undefined,
    pendingBenign: undefined,
    recoveryAttempts: context.recoveryAttempts + 1,
  };
}

/** After a failed fix (or a benign verdict the state refuted): count the attempt and remember which strategy met which failure. */
export function afterAttempt(
  context: ExecutorContext,
  outcome: CommandOutcome,
  strategyId: string = context.pendingFix!.strategyId,
): Partial<ExecutorContext> {
  const id = context.failure!.commandId;
  return {
    recoveryAttempts: context.recoveryAttempts + 1,
    tried: {
      ...context.tried,
      [id]: [...(context.tried[id] ?? []), { strategyId, fingerprint: failureFingerprint(outcome) }],
    },
    pendingFix: undefined,
    pendingBenign: undefined,
  };
}

/** Folds a finished child (a command or a decision) into the context; a retry's outcome is a record. */
export function settle(
  context: ExecutorContext,
  event: DoneEvent,
): { updates: Partial<ExecutorContext>; record?: RecoveryRecord } {
  const child = childIds.parse(event.type.slice('xstate.done.actor.'.length));
  if (child.kind === 'decision')
    return { updates: { decisions: { ...context.decisions, [child.gateId]: event.output as boolean } } };
  const id = child.commandId;
  const outcome = event.output as CommandOutcome;
  const cmd = context.commands[id]!;
  const commands = {
    ...context.commands,
    [id]: { ...cmd, state: outcome.ok ? ('done' as const) : ('failed' as const) },
  };
  const retrying = context.retrying?.commandId === id ? context.retrying : undefined;
  const updates: Partial<ExecutorContext> = { commands, ...(retrying ? { retrying: undefined } : {}) };
  let record: RecoveryRecord | undefined;
  if (retrying) {
    record = {
      commandId: id,
      attempt: retrying.attempt,
      reply: retrying.fix,
      resolved: outcome.ok,
      ...(outcome.ok ? {} : { reason: 'the retried command failed again' }),
    };
    if (outcome.ok) updates.recoveries = context.recoveries + 1;
    else
      updates.tried = {
        ...context.tried,
        [id]: [
          ...(context.tried[id] ?? []),
          { strategyId: retrying.fix.strategyId, fingerprint: failureFingerprint(outcome) },
        ],
      };
  }
  if (!outcome.ok && context.failure === undefined) updates.failure = { commandId: id, outcome };
  return record ? { updates, record } : { updates };
}

export type Failure = Omit<Extract<ExecutorOutput, { ok: false }>, 'ok'>;

/** A failure at the command that failed: its stage and why. */
export const atFailure = (context: ExecutorContext, stage: Failure['stage'], reason: string): Failure => ({
  stage,
  reason,
  commandId: context.failure!.commandId,
});

/** What a benign verdict came to, once its state check ran. */
export const benignRecord = (context: ExecutorContext, resolved: boolean, reason?: string): RecoveryRecord => ({
  commandId: context.failure!.commandId,
  attempt: context.recoveryAttempts,
  reply: context.pendingBenign!,
  resolved,
  ...(reason ? { reason } : {}),
});
