import type { StoredEvent } from '../events/agent-events.ts';
import type { Pricing } from '../events/run-options.ts';
import { tokensNote, UsageTally, usageLine } from '../projections/llm-usage.ts';
import { PlanningSpans } from '../report/planning-time.ts';
import { taskLabel } from '../tasklist/task-spec.ts';
import { PAINT, sgr } from '../inert.ts';
import { useColour } from './terminal.ts';

const paint = (code: string, text: string) => (useColour ? `${sgr(code)}${text}${sgr(PAINT.reset)}` : text);
export const colours = {
  green: (t: string) => paint(PAINT.green, t),
  red: (t: string) => paint(PAINT.red, t),
  yellow: (t: string) => paint(PAINT.yellow, t),
  dim: (t: string) => paint(PAINT.dim, t),
  bold: (t: string) => paint(PAINT.bold, t),
};

/** What an unverified task is, and what follows from it. */
const UNVERIFIED_WHY =
  'a fix replaced a failed command and no criterion checked the result; not ticked, not committed, its dependants not started';

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;

/** Turns a run's events into the terminal lines a person follows: a line per task state change. */
export function progressPrinter(write: (line: string) => void) {
  const titles = new Map<string, string>();
  const sources = new Map<string, string>();
  /** Planned tasks whose first command has not started yet, with what their start line says of the plan. */
  const waiting = new Map<string, string>();
  /** When plans were made and commands ran: the closing line says how much planning ran behind commands. */
  const spans = new PlanningSpans();
  const name = (taskId: string) => taskLabel(taskId, titles.get(taskId));
  /** Tasks with an outcome: a later outcome (a plan made ahead failing after a skip) is not news. */
  const over = new Set<string>();
  /** Tasks with subtasks: their own commands completing is not their outcome. */
  const parents = new Set<string>();
  /** Why each failed task failed: the closing lines name them. */
  const reasons = new Map<string, string>();
  /** Tokens per task and for the run: shown on each task's line and in the closing lines. */
  const usage = new UsageTally();
  let pricing: Pricing | undefined;
  const tokens = (taskId: string) => {
    const note = tokensNote(usage.byTask.get(taskId));
    return note && colours.dim(note);
  };
  let finished: string | undefined;
  /**
   * The run's closing lines, once its calls are settled: the LLM use folded from every LlmCalled
   * of the run in the log (`calls`), the same fold `status`, `report` and the budget read.
   */
  const closing = (calls: readonly StoredEvent[]) => {
    if (!finished) return;
    const all = new UsageTally();
    for (const e of calls) all.see(e);
    if (all.total.calls > 0) write(`LLM: ${all.total.calls} call(s), ${usageLine(all.total, pricing)}`);
    write(colours.dim(`timeline: implement-agent report ${finished}    tasks: implement-agent status ${finished}`));
  };
  const print = (event: StoredEvent) => {
    const id = event.taskId ?? '';
    if (event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TaskSkipped') {
      if (over.has(id)) return;
      over.add(id);
    }
    spans.see(event);
    switch (event.type) {
      case 'RunStarted':
        pricing = event.data.options.pricing;
        write(
          colours.bold(`run ${event.runId}: ${event.data.taskIds.length} task(s) in ${event.data.tasksFile}`) +
            (event.data.alreadyDone.length ? colours.dim(` (${event.data.alreadyDone.length} already done)`) : ''),
        );
        return;
      case 'TaskSubmitted':
        titles.set(id, event.data.task.title);
        if (event.data.task.parentId !== undefined) parents.add(event.data.task.parentId);
        return;
      case 'PlanCreated':
        // Said when its first command starts, not here: a task planned ahead may wait long.
        sources.set(id, event.data.source);
        waiting.set(id, `(${event.data.plan.commands.length} command(s), ${event.data.source} plan)`);
        return;
      case 'CommandStarted': {
        const plan = waiting.get(id);
        if (plan === undefined) return;
        waiting.delete(id);
        const at = event.data.site === undefined ? '' : ` on site ${event.data.site}`;
        write(`${colours.dim('▶')} ${name(id)}${at} ${colours.dim(plan)}`);
        return;
      }
      case 'TaskAttemptLost':
        write(
          colours.yellow(
            `↻ ${name(id)}: lost with site ${event.data.site} (${event.data.reason}, attempt ${event.data.attempt}); routed again`,
          ),
        );
        return;
      case 'TaskWaiting':
        write(colours.yellow(`… ${name(id)} waits for a site: ${event.data.reason}`));
        return;
      case 'RecoveryAttempted':
        write(
          `  ${colours.yellow('↻')} ${name(id)}: recovering ${event.data.commandId} with ${event.data.patternId ?? event.data.source}/${event.data.strategyId}`,
        );
        return;
      case 'CommandDenied':
        write(`  ${colours.red('⊘')} ${name(id)}: denied \`${event.data.command}\` (${event.data.rule})`);
        return;
      case 'TaskCompleted': {
        const recovered = event.data.recoveries ? colours.yellow(` (${event.data.recoveries} recovered)`) : '';
        const commit = event.data.commit ? colours.dim(` commit ${event.data.commit.slice(0, 10)}`) : '';
        if (event.data.evidence === 'none') {
          write(
            `${colours.yellow('?')} ${name(id)} ${colours.yellow(`completed, unverified: ${UNVERIFIED_WHY}`)}${tokens(id)}`,
          );
          return;
        }
        // A task with subtasks is done once they are: the closing lines say how it ended.
        const own = parents.has(id) ? colours.dim(' its own commands; its subtasks next') : '';
        write(
          `${colours.green('✓')} ${name(id)}${own} ${colours.dim(seconds(event.data.durationMs))}${recovered}${commit}${tokens(id)}`,
        );
        return;
      }
      case 'TaskFilesChanged':
        // What the caps kept out of the store is said: those changes can be shown, not undone.
        if (event.data.skipped.length)
          write(
            colours.yellow(
              `  ${name(id)}: not stored, so not undoable: ${event.data.skipped.map((k) => `${k.path} (${k.reason})`).join('; ')}`,
            ),
          );
        return;
      case 'TaskRolledBack':
        if (event.data.discarded)
          write(
            colours.dim(
              `  ${name(id)}: nothing of it was applied (its view was discarded); \`implement-agent diff ${event.runId} ${id}\` shows what it did`,
            ),
          );
        if (event.data.restored.length)
          write(
            colours.dim(
              `  ${name(id)}: its changes were undone (${event.data.restored.length} file(s)); \`implement-agent diff ${event.runId} ${id}\` shows them`,
            ),
          );
        for (const k of event.data.kept) write(colours.yellow(`  ${name(id)}: ${k.path} kept: ${k.reason}`));
        return;
      case 'TaskFailed':
        reasons.set(id, `${event.data.stage}: ${event.data.reason}`);
        write(
          `${colours.red('✗')} ${name(id)} ${colours.red(`failed (${event.data.stage}): ${event.data.reason}`)}${tokens(id)}`,
        );
        return;
      case 'TaskSkipped':
        write(`${colours.yellow('-')} ${name(id)} ${colours.yellow(`skipped: ${event.data.reason}`)}`);
        return;
      case 'PlanInvalidated':
        write(`${colours.yellow('↻')} ${name(id)} ${colours.yellow(`planning again: ${event.data.reason}`)}`);
        return;
      case 'RunInterrupted':
        write(colours.yellow(`run ${event.runId} interrupted: ${event.data.reason}`));
        return;
      case 'RunResumed':
        write(colours.bold(`run ${event.runId} resumed`));
        return;
      case 'RunFinished': {
        const d = event.data;
        const unverified = d.unverified ?? [];
        const summary = `${d.completed.length} completed, ${unverified.length ? `${unverified.length} unverified, ` : ''}${d.failed.length} failed, ${d.skipped.length} skipped in ${seconds(d.durationMs)}`;
        const paint = { succeeded: colours.green, unverified: colours.yellow, failed: colours.red }[d.status];
        write(paint(`run ${d.status}: ${summary}`));
        for (const id of d.failed)
          write(
            colours.red(
              `  ✗ ${name(id)}: ${reasons.get(id) ?? (parents.has(id) ? 'a subtask did not complete' : 'failed')}`,
            ),
          );
        for (const id of unverified) write(colours.yellow(`  ? ${name(id)}: completed, unverified: ${UNVERIFIED_WHY}`));
        const planning = spans.time();
        if (planning.planningMs > 0)
          write(
            colours.dim(
              `planning ${seconds(planning.planningMs)}, of which ${seconds(planning.hiddenMs)} hidden behind running commands`,
            ),
          );
        // The LLM line and the footer wait for `closing`: calls still in flight are settled first.
        finished = event.runId;
        return;
      }
      case 'LlmCalled':
        usage.see(event);
        return;
      case 'LlmCapabilityLearned':
        write(learnedLine(event.data));
        return;
      case 'PlanCacheHit':
      case 'PlanCacheMiss':
      case 'PlanDrafted':
      case 'PlanCancelled':
      case 'TaskRouted':
      case 'SiteHeartbeat':
      case 'CommandHeartbeat':
      case 'CommandFinished':
      case 'RecoveryResolved':
      case 'RecoveryFailed':
      case 'TaskReverted':
      case 'TaskTicked':
      case 'RunVerified':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  };
  return Object.assign(print, { closing });
}

/** What the LLM client learned: a refused setting in yellow, a measure of the endpoint dimmed. */
function learnedLine(d: { model: string; setting: string; value: string; reason: string }): string {
  if (d.setting === 'concurrency') return colours.dim(`LLM endpoint: ${d.value} call(s) in flight (${d.reason})`);
  if (d.setting === 'contextTokens') return colours.dim(`LLM endpoint: a context of ${d.value} tokens (${d.reason})`);
  return colours.yellow(`LLM ${d.model} refused ${d.setting}; using ${d.value} from now on (${d.reason})`);
}
