import type { StoredEvent } from '../events/agent-events.ts';
import { colours } from './progress.ts';
import { meaningfulLine } from '../exec/output-summary.ts';
import { siteLabel } from '../projections/sites.ts';

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

/** One readable line per event: sequence, time, run, task, type, and what matters about it. */
export function eventLine(e: StoredEvent): string {
  const head = `${colours.dim(`#${e.seq} ${e.at.slice(11, 23)}`)} ${e.runId} ${e.taskId ?? '-'} `;
  switch (e.type) {
    case 'RunStarted':
      return `${head}${colours.bold(e.type)} ${e.data.taskIds.length} task(s) in ${e.data.tasksFile}`;
    case 'TaskSubmitted':
      return `${head}${e.type} ${e.data.task.title}`;
    case 'PlanCacheHit':
      return `${head}${colours.green(e.type)} ${e.data.match} ${e.data.entryKey} (${e.data.similarity})`;
    case 'PlanCacheMiss':
      return `${head}${e.type} ${e.data.reason}`;
    case 'LlmCapabilityLearned':
      return `${head}${e.type} ${e.data.model}: ${e.data.setting} = ${e.data.value} (${e.data.reason})`;
    case 'LlmCalled':
      return `${head}${e.data.ok ? e.type : colours.red(e.type)} ${e.data.purpose} ${e.data.durationMs.toFixed(0)} ms${e.data.error ? ` ${e.data.error}` : ''}`;
    case 'PlanCreated':
      return `${head}${e.type} ${e.data.source} ${e.data.plan.commands.length} command(s) in ${e.data.durationMs.toFixed(0)} ms`;
    case 'PlanDrafted':
      return `${head}${e.type} ${e.data.plan.commands.length} command(s) in ${e.data.durationMs.toFixed(0)} ms`;
    case 'PlanCancelled':
      return `${head}${colours.yellow(e.type)} ${e.data.reason}`;
    case 'CommandStarted':
      return `${head}${e.type} ${e.data.commandId} ${firstLine(e.data.command)}`;
    case 'CommandHeartbeat':
      return `${head}${colours.dim(`${e.type} ${e.data.commandId} ${(e.data.elapsedMs / 1000).toFixed(0)}s ${e.data.lastLine}`)}`;
    case 'TaskRouted':
      return `${head}${e.type} to ${siteLabel(e.data.site)} (${e.data.reason})`;
    case 'TaskAttemptLost':
      return `${head}${colours.yellow(e.type)} attempt ${e.data.attempt} at site ${e.data.site} (${e.data.reason})`;
    case 'TaskWaiting':
      return `${head}${colours.yellow(e.type)} ${e.data.reason}`;
    case 'SiteHeartbeat':
      return `${head}${colours.dim(`${e.type} ${e.data.site} [${e.data.labels.join(', ')}] ${e.data.slots} slot(s) on ${e.data.host}`)}`;
    case 'CommandFinished': {
      const ok = e.data.exitCode === 0 && !e.data.timedOut;
      const what = `${e.data.commandId} exit ${e.data.exitCode}${e.data.timedOut ? ' (timed out)' : ''} ${e.data.durationMs.toFixed(0)} ms`;
      return `${head}${ok ? e.type : colours.red(e.type)} ${what}${ok ? '' : ` ${colours.red(firstLine(meaningfulLine(e.data.stderrTail, e.data.stdoutTail)))}`}`;
    }
    case 'CommandDenied':
      return `${head}${colours.red(e.type)} ${e.data.rule}: ${firstLine(e.data.command)}`;
    case 'RecoveryAttempted':
      return `${head}${colours.yellow(e.type)} ${e.data.commandId} ${e.data.strategyId} (${e.data.source})`;
    case 'RecoveryResolved':
      return `${head}${colours.green(e.type)} ${e.data.commandId} ${e.data.strategyId}`;
    case 'RecoveryFailed':
      return `${head}${colours.red(e.type)} ${e.data.commandId} ${e.data.strategyId}: ${e.data.reason}`;
    case 'TaskCompleted':
      return `${head}${colours.green(e.type)} ${(e.data.durationMs / 1000).toFixed(2)} s`;
    case 'TaskFailed':
      return `${head}${colours.red(e.type)} ${e.data.stage}: ${e.data.reason}`;
    case 'TaskSkipped':
      return `${head}${colours.yellow(e.type)} ${e.data.reason}`;
    case 'TaskFilesChanged':
      return `${head}${e.type} ${e.data.files.length} file(s)${e.data.ignored.length ? `, ${e.data.ignored.length} ignored path(s) counted` : ''}${e.data.skipped.length ? `, ${e.data.skipped.length} not stored` : ''}${e.data.fix ? ` (after the fix of ${e.data.fix})` : ''}`;
    case 'TaskRolledBack':
      return `${head}${colours.yellow(e.type)} ${e.data.restored.length} file(s) restored${e.data.kept.length ? `, ${e.data.kept.length} kept` : ''}`;
    case 'TaskReverted':
      return `${head}${colours.yellow(e.type)} ${e.data.restored.length} file(s) restored${e.data.commit ? ` in ${e.data.commit.slice(0, 10)}` : ''}`;
    case 'RunVerified':
      return `${head}${e.data.regressions.length ? colours.red(e.type) : colours.green(e.type)} ${e.data.checked.length} task(s) checked, ${e.data.regressions.length} regression(s)`;
    case 'PlanInvalidated':
      return `${head}${colours.yellow(e.type)} revision ${e.data.revision}: ${e.data.reason}`;
    case 'TaskTicked':
      return `${head}${e.data.failed ? colours.red(e.type) : colours.green(e.type)} ${e.data.tasksFile}${e.data.failed ? `: ${e.data.failed}` : ''}`;
    case 'RunInterrupted':
      return `${head}${colours.yellow(e.type)} ${e.data.reason}`;
    case 'RunResumed':
      return `${head}${colours.bold(e.type)} generation ${e.data.generation}`;
    case 'TaskReopened':
      return `${head}${colours.yellow(e.type)} generation ${e.data.generation}: ${e.data.reason}`;
    case 'RunFinished':
      return `${head}${{ succeeded: colours.green, unverified: colours.yellow, failed: colours.red }[e.data.status](e.type)} ${e.data.status} in ${(e.data.durationMs / 1000).toFixed(2)} s`;
    default: {
      const never: never = e;
      return never;
    }
  }
}
