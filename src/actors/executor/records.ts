import { routeAttemptOfItem } from '../../events/site-events.ts';
import { makeEvent, type AgentEvent, type EventOf } from '../../events/agent-events.ts';
import { eventIds, type CommandRef } from '../../events/ids.ts';
import type { ExecuteTask, RecoverRequest } from '../../events/work-commands.ts';
import type { CommandResult } from '../../exec/run-command.ts';
import type { CommandOutcome, RecoverInput, RecoveryRecord, TaskEnd } from './types.ts';

/**
 * The executor's records, as pure functions of what happened: the events of one command attempt,
 * of a recovery and of the task, and the request sent to the recoverer. Ids are deterministic, so
 * a redelivered task that records the same thing again appends nothing twice.
 */

export type Purpose = 'plan' | 'recovery' | 'check' | 'decision';

const task = (ref: CommandRef) => ({ runId: ref.runId, taskId: ref.taskId });

export function commandDenied(ref: CommandRef, command: string, verdict: { rule: string; reason: string }): AgentEvent {
  return makeEvent(
    'CommandDenied',
    { ...task(ref), id: eventIds.command(ref, 'CommandDenied') },
    { commandId: ref.commandId, command, rule: verdict.rule, reason: verdict.reason },
  );
}

export function commandStarted(
  ref: CommandRef,
  command: string,
  purpose: Purpose,
  where: { confinement: string; pgid?: number; host: string; site?: string; routeAttempt?: number },
): AgentEvent {
  return makeEvent(
    'CommandStarted',
    { ...task(ref), id: eventIds.command(ref, 'CommandStarted') },
    {
      commandId: ref.commandId,
      command,
      attempt: ref.attempt,
      purpose,
      confinement: where.confinement,
      ...(where.pgid ? { pgid: where.pgid, host: where.host } : {}),
      ...(where.site !== undefined ? { site: where.site } : {}),
      ...(where.routeAttempt !== undefined ? { routeAttempt: where.routeAttempt } : {}),
    },
  );
}

/** Heartbeats are many and interchangeable: no deterministic id. */
export function commandHeartbeat(ref: CommandRef, elapsedMs: number, lastLine: string): AgentEvent {
  return makeEvent('CommandHeartbeat', task(ref), {
    commandId: ref.commandId,
    attempt: ref.attempt,
    elapsedMs,
    lastLine,
  });
}

export function commandFinished(
  ref: CommandRef,
  command: string,
  purpose: Purpose,
  result: CommandResult,
  kept: { outputRef?: string; refused?: string },
): AgentEvent {
  return makeEvent(
    'CommandFinished',
    { ...task(ref), id: eventIds.command(ref, 'CommandFinished') },
    {
      commandId: ref.commandId,
      command,
      attempt: ref.attempt,
      purpose,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      startedAt: result.startedAt,
      stdoutTail: result.stdoutTail,
      stderrTail: result.stderrTail,
      truncated: result.truncated,
      redacted: result.redacted,
      ...(kept.outputRef ? { outputRef: kept.outputRef } : {}),
      ...(kept.refused ? { refused: kept.refused } : {}),
    },
  );
}

/** A command's result as the machine sees it. */
export function toOutcome(result: CommandResult, refused?: string): CommandOutcome {
  return {
    // A command the confinement stopped (a planted config, a limit) has failed, whatever it exited with.
    ok: result.exitCode === 0 && !result.timedOut && !refused,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    stdoutTail: result.stdoutTail,
    stderrTail: result.stderrTail,
    ...(refused ? { refused } : {}),
  };
}

/** The recoverer's request; the executor keeps the run's contents, so it can store one before a fix replaces it. */
export function recoverRequest(item: ExecuteTask, input: RecoverInput, view?: string): RecoverRequest {
  return {
    runId: item.runId,
    taskId: item.taskId,
    workdir: item.workdir,
    commandId: input.commandId,
    command: input.command,
    exitCode: input.outcome.exitCode,
    timedOut: input.outcome.timedOut,
    stdoutTail: input.outcome.stdoutTail,
    stderrTail: input.outcome.stderrTail,
    attempt: input.attempt,
    tried: input.tried,
    llm: item.llm,
    keepsContents: true,
    ...(view === undefined ? {} : { view }),
  };
}

/** How a recovery came out; `durationMs` runs from the request to the retry's result. */
export function recoveryOutcome(item: ExecuteTask, record: RecoveryRecord, durationMs: number): AgentEvent {
  const strategy = record.reply.decision === 'fix' ? record.reply : { ...record.reply, source: 'pattern' as const };
  const ref: CommandRef = {
    runId: item.runId,
    taskId: item.taskId,
    commandId: record.commandId,
    attempt: record.attempt,
  };
  const data = {
    commandId: record.commandId,
    attempt: record.attempt,
    strategyId: strategy.strategyId,
    source: strategy.source,
    ...(strategy.patternId ? { patternId: strategy.patternId } : {}),
    durationMs,
  };
  return record.resolved
    ? makeEvent('RecoveryResolved', { ...task(ref), id: eventIds.command(ref, 'RecoveryResolved') }, data)
    : makeEvent(
        'RecoveryFailed',
        { ...task(ref), id: eventIds.command(ref, 'RecoveryFailed') },
        { ...data, reason: record.reason ?? 'failed' },
      );
}

export function taskOutcome(
  item: ExecuteTask,
  result: TaskEnd,
  durationMs: number,
  commit?: string,
): EventOf<'TaskCompleted'> | EventOf<'TaskFailed'> {
  const { runId, taskId } = item;
  // A site's attempt says which it was: the run takes only its current attempt's outcome.
  const id = eventIds.outcome(runId, taskId, item.route?.attempt, item.reopened);
  const routed = routeAttemptOfItem(item);
  return result.ok
    ? makeEvent(
        'TaskCompleted',
        { runId, taskId, id },
        {
          durationMs,
          commands: result.commands,
          recoveries: result.recoveries,
          evidence: result.evidence,
          ...(commit ? { commit } : {}),
          ...routed,
        },
      )
    : makeEvent(
        'TaskFailed',
        { runId, taskId, id },
        {
          stage: result.stage,
          reason: result.reason,
          ...(result.commandId ? { commandId: result.commandId } : {}),
          ...(result.stage === 'conflict' ? { conflicts: result.conflicts } : {}),
          ...routed,
        },
      );
}
