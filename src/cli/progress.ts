import type { AgentEventType, StoredEvent, StoredEventOf } from '../events/agent-events.ts';
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

/** What the printer has seen of a run: what its later lines name or sum up. */
class RunSeen {
  readonly titles = new Map<string, string>();
  /** Planned tasks whose first command has not started yet, with what their start line says of the plan. */
  readonly waiting = new Map<string, string>();
  /** When plans were made and commands ran: the closing line says how much planning ran behind commands. */
  readonly spans = new PlanningSpans();
  /** Tasks with an outcome: a later outcome (a plan made ahead failing after a skip) is not news. */
  readonly over = new Set<string>();
  /** Tasks with subtasks: their own commands completing is not their outcome. */
  readonly parents = new Set<string>();
  /** Why each failed task failed: the closing lines name them. */
  readonly reasons = new Map<string, string>();
  /** Tokens per task and for the run: shown on each task's line and in the closing lines. */
  readonly usage = new UsageTally();
  pricing: Pricing | undefined;
  /** The run whose RunFinished was printed: its closing lines wait for its calls to settle. */
  finished: string | undefined;

  name(taskId: string): string {
    return taskLabel(taskId, this.titles.get(taskId));
  }

  tokens(taskId: string): string {
    const note = tokensNote(this.usage.byTask.get(taskId));
    return note && colours.dim(note);
  }
}

/** The lines each event type prints, and what it notes for later ones: one entry per type, so none is forgotten. */
type LinesOf = { [T in AgentEventType]: (seen: RunSeen, event: StoredEventOf<T>, id: string) => readonly string[] };

const none = () => [];

const LINES: LinesOf = {
  RunStarted: (seen, e) => {
    seen.pricing = e.data.options.pricing;
    const done = e.data.alreadyDone.length;
    return [
      colours.bold(`run ${e.runId}: ${e.data.taskIds.length} task(s) in ${e.data.tasksFile}`) +
        (done ? colours.dim(` (${done} already done)`) : ''),
    ];
  },
  TaskSubmitted: (seen, e, id) => {
    seen.titles.set(id, e.data.task.title);
    if (e.data.task.parentId !== undefined) seen.parents.add(e.data.task.parentId);
    return [];
  },
  // Said when its first command starts, not here: a task planned ahead may wait long.
  PlanCreated: (seen, e, id) => {
    seen.waiting.set(id, `(${e.data.plan.commands.length} command(s), ${e.data.source} plan)`);
    return [];
  },
  CommandStarted: (seen, e, id) => {
    const plan = seen.waiting.get(id);
    if (plan === undefined) return [];
    seen.waiting.delete(id);
    const at = e.data.site === undefined ? '' : ` on site ${e.data.site}`;
    return [`${colours.dim('▶')} ${seen.name(id)}${at} ${colours.dim(plan)}`];
  },
  TaskAttemptLost: (seen, e, id) => [
    colours.yellow(
      `↻ ${seen.name(id)}: lost with site ${e.data.site} (${e.data.reason}, attempt ${e.data.attempt}); routed again`,
    ),
  ],
  TaskWaiting: (seen, e, id) => [colours.yellow(`… ${seen.name(id)} waits for a site: ${e.data.reason}`)],
  RecoveryAttempted: (seen, e, id) => [
    `  ${colours.yellow('↻')} ${seen.name(id)}: recovering ${e.data.commandId} with ${e.data.patternId ?? e.data.source}/${e.data.strategyId}`,
  ],
  CommandDenied: (seen, e, id) => [
    `  ${colours.red('⊘')} ${seen.name(id)}: denied \`${e.data.command}\` (${e.data.rule})`,
  ],
  TaskCompleted: completedLines,
  TaskFilesChanged: unstoredLines,
  TaskRolledBack: rolledBackLines,
  TaskFailed: (seen, e, id) => {
    seen.reasons.set(id, `${e.data.stage}: ${e.data.reason}`);
    return [
      `${colours.red('✗')} ${seen.name(id)} ${colours.red(`failed (${e.data.stage}): ${e.data.reason}`)}${seen.tokens(id)}`,
    ];
  },
  TaskSkipped: (seen, e, id) => [
    `${colours.yellow('-')} ${seen.name(id)} ${colours.yellow(`skipped: ${e.data.reason}`)}`,
  ],
  PlanInvalidated: (seen, e, id) => [
    `${colours.yellow('↻')} ${seen.name(id)} ${colours.yellow(`planning again: ${e.data.reason}`)}`,
  ],
  RunInterrupted: (_seen, e) => [colours.yellow(`run ${e.runId} interrupted: ${e.data.reason}`)],
  RunResumed: (_seen, e) => [colours.bold(`run ${e.runId} resumed`)],
  // Its next outcome is its outcome, and its next first command is said as its start.
  TaskReopened: (seen, e, id) => {
    seen.reasons.delete(id);
    seen.over.delete(id);
    seen.waiting.set(id, '(running again)');
    return [`${colours.yellow('↻')} ${seen.name(id)} ${colours.yellow(`running again: ${e.data.reason}`)}`];
  },
  RunFinished: finishedLines,
  LlmCalled: (seen, e) => {
    seen.usage.see(e);
    return [];
  },
  LlmCapabilityLearned: (_seen, e) => [learnedLine(e.data)],
  PlanCacheHit: none,
  PlanCacheMiss: none,
  PlanDrafted: none,
  PlanCancelled: none,
  TaskRouted: none,
  SiteHeartbeat: none,
  CommandHeartbeat: none,
  CommandFinished: none,
  RecoveryResolved: none,
  RecoveryFailed: none,
  TaskReverted: none,
  TaskTicked: none,
  RunVerified: none,
};

function completedLines(seen: RunSeen, e: StoredEventOf<'TaskCompleted'>, id: string): readonly string[] {
  const name = seen.name(id);
  if (e.data.evidence === 'none')
    return [
      `${colours.yellow('?')} ${name} ${colours.yellow(`completed, unverified: ${UNVERIFIED_WHY}`)}${seen.tokens(id)}`,
    ];
  const recovered = e.data.recoveries ? colours.yellow(` (${e.data.recoveries} recovered)`) : '';
  const commit = e.data.commit ? colours.dim(` commit ${e.data.commit.slice(0, 10)}`) : '';
  // A task with subtasks is done once they are: the closing lines say how it ended.
  const own = seen.parents.has(id) ? colours.dim(' its own commands; its subtasks next') : '';
  return [
    `${colours.green('✓')} ${name}${own} ${colours.dim(seconds(e.data.durationMs))}${recovered}${commit}${seen.tokens(id)}`,
  ];
}

/** What the caps kept out of the store is said: those changes can be shown, not undone. */
function unstoredLines(seen: RunSeen, e: StoredEventOf<'TaskFilesChanged'>, id: string): readonly string[] {
  if (!e.data.skipped.length) return [];
  const what = e.data.skipped.map((k) => `${k.path} (${k.reason})`).join('; ');
  return [colours.yellow(`  ${seen.name(id)}: not stored, so not undoable: ${what}`)];
}

function rolledBackLines(seen: RunSeen, e: StoredEventOf<'TaskRolledBack'>, id: string): readonly string[] {
  const name = seen.name(id);
  const diff = `\`implement-agent diff ${e.runId} ${id}\``;
  if (e.data.rerun) {
    const { attempt, of, conflicts } = e.data.rerun;
    const on = conflicts.map((c) => `${c.path} with ${c.by === 'not a task' ? 'a change not made by a task' : c.by}`);
    return [colours.yellow(`  ↻ ${name}: conflict on ${on.join(', ')}, running again (${attempt} of ${of})`)];
  }
  return [
    ...(e.data.discarded
      ? [colours.dim(`  ${name}: nothing of it was applied (its view was discarded); ${diff} shows what it did`)]
      : []),
    ...(e.data.restored.length
      ? [colours.dim(`  ${name}: its changes were undone (${e.data.restored.length} file(s)); ${diff} shows them`)]
      : []),
    ...e.data.kept.map((k) => colours.yellow(`  ${name}: ${k.path} kept: ${k.reason}`)),
  ];
}

function finishedLines(seen: RunSeen, e: StoredEventOf<'RunFinished'>): readonly string[] {
  const d = e.data;
  const unverified = d.unverified ?? [];
  const summary = `${d.completed.length} completed, ${unverified.length ? `${unverified.length} unverified, ` : ''}${d.failed.length} failed, ${d.skipped.length} skipped in ${seconds(d.durationMs)}`;
  const paintStatus = { succeeded: colours.green, unverified: colours.yellow, failed: colours.red }[d.status];
  const failedWhy = (id: string) =>
    seen.reasons.get(id) ?? (seen.parents.has(id) ? 'a subtask did not complete' : 'failed');
  const planning = seen.spans.time();
  // The LLM line and the footer wait for `closing`: calls still in flight are settled first.
  seen.finished = e.runId;
  return [
    paintStatus(`run ${d.status}: ${summary}`),
    ...d.failed.map((id) => colours.red(`  ✗ ${seen.name(id)}: ${failedWhy(id)}`)),
    ...unverified.map((id) => colours.yellow(`  ? ${seen.name(id)}: completed, unverified: ${UNVERIFIED_WHY}`)),
    ...(planning.planningMs > 0
      ? [
          colours.dim(
            `planning ${seconds(planning.planningMs)}, of which ${seconds(planning.hiddenMs)} hidden behind running commands`,
          ),
        ]
      : []),
  ];
}

/** Turns a run's events into the terminal lines a person follows: a line per task state change. */
export function progressPrinter(write: (line: string) => void) {
  const seen = new RunSeen();
  /**
   * The run's closing lines, once its calls are settled: the LLM use folded from every LlmCalled
   * of the run in the log (`calls`), the same fold `status`, `report` and the budget read.
   */
  const closing = (calls: readonly StoredEvent[]) => {
    if (!seen.finished) return;
    const all = new UsageTally();
    for (const e of calls) all.see(e);
    if (all.total.calls > 0) write(`LLM: ${all.total.calls} call(s), ${usageLine(all.total, seen.pricing)}`);
    write(
      colours.dim(
        `timeline: implement-agent report ${seen.finished}    tasks: implement-agent status ${seen.finished}`,
      ),
    );
  };
  const print = (event: StoredEvent) => {
    const id = event.taskId ?? '';
    if (event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TaskSkipped') {
      if (seen.over.has(id)) return;
      seen.over.add(id);
    }
    seen.spans.see(event);
    const lines = LINES[event.type] as (seen: RunSeen, event: StoredEvent, id: string) => readonly string[];
    for (const line of lines(seen, event, id)) write(line);
  };
  return Object.assign(print, { closing });
}

/** What the LLM client learned: a refused setting in yellow, a measure of the endpoint dimmed. */
function learnedLine(d: { model: string; setting: string; value: string; reason: string }): string {
  if (d.setting === 'concurrency') return colours.dim(`LLM endpoint: ${d.value} call(s) in flight (${d.reason})`);
  if (d.setting === 'contextTokens') return colours.dim(`LLM endpoint: a context of ${d.value} tokens (${d.reason})`);
  return colours.yellow(`LLM ${d.model} refused ${d.setting}; using ${d.value} from now on (${d.reason})`);
}
