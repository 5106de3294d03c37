import type { EventOf, RunOutcome, StoredEvent } from '../events/agent-events.ts';
import type { Pricing } from '../events/run-options.ts';
import { addUsage, costUsd, noUsage, totalTokens, type LlmUsage } from '../projections/llm-usage.ts';

export type RunState = RunOutcome | 'interrupted' | 'unfinished';

/** One line of `runs`: a run as its run-level events and task outcomes tell it. */
export type RunSummary = {
  runId: string;
  state: RunState;
  tasksFile: string;
  tasks: number;
  /** Completed with evidence; `unverified`: completed without (not success). */
  completed: number;
  unverified: number;
  failed: number;
  skipped: number;
  startedAt: string;
  /** From start to RunFinished, or to the run's last event when it has not finished. */
  durationMs: number;
  /** Tokens the LLM spent on the run (prompt + completion), and what they cost with the run's prices. */
  tokens: number;
  cachedTokens: number;
  usd?: number;
};

/**
 * Folds run-level events (RunStarted, RunInterrupted, RunResumed, RunFinished) and task outcomes
 * into one summary per run, newest first. A run without RunFinished is `unfinished` (running, or
 * its processes died: `resume` finishes it) unless its last word was an interruption.
 */
export function summarizeRuns(events: readonly StoredEvent[]): RunSummary[] {
  type Folding = RunSummary & {
    outcomes: Map<string, 'completed' | 'unverified' | 'failed' | 'skipped'>;
    lastAt: string;
    usage: LlmUsage;
    pricing?: Pricing;
    /** The coordinator's lists at the end: each task's one outcome (a parent done only with its subtasks). */
    final?: EventOf<'RunFinished'>['data'];
  };
  const runs = new Map<string, Folding>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.type === 'RunStarted') {
      runs.set(e.runId, {
        runId: e.runId,
        state: 'unfinished',
        tasksFile: e.data.tasksFile,
        tasks: e.data.taskIds.length,
        completed: 0,
        unverified: 0,
        failed: 0,
        skipped: 0,
        startedAt: e.at,
        durationMs: 0,
        outcomes: new Map(),
        lastAt: e.at,
        tokens: 0,
        cachedTokens: 0,
        usage: noUsage(),
        ...(e.data.options.pricing ? { pricing: e.data.options.pricing } : {}),
      });
      continue;
    }
    const run = runs.get(e.runId);
    if (!run) continue;
    if (e.type === 'LlmCalled') {
      addUsage(run.usage, e.data);
      continue;
    }
    run.lastAt = e.at;
    const id = e.taskId ?? '';
    // The first outcome of a task is its outcome (as in the run status).
    if (e.type === 'TaskCompleted' && !run.outcomes.has(id))
      run.outcomes.set(id, e.data.evidence === 'none' ? 'unverified' : 'completed');
    if (e.type === 'TaskFailed' && !run.outcomes.has(id)) run.outcomes.set(id, 'failed');
    if (e.type === 'TaskSkipped' && !run.outcomes.has(id)) run.outcomes.set(id, 'skipped');
    // Reopened by `resume` (its change set was never applied): its next outcome is its outcome.
    if (e.type === 'TaskReopened') run.outcomes.delete(id);
    if (e.type === 'RunInterrupted') run.state = 'interrupted';
    if (e.type === 'RunResumed') run.state = 'unfinished';
    if (e.type === 'RunFinished') {
      run.state = e.data.status;
      run.durationMs = e.data.durationMs;
      run.final = e.data;
    }
  }
  return [...runs.values()]
    .map(({ outcomes, lastAt, usage, pricing, final, ...run }): RunSummary => {
      const count = (o: 'completed' | 'unverified' | 'failed' | 'skipped') =>
        final ? (final[o] ?? []).length : [...outcomes.values()].filter((x) => x === o).length;
      const durationMs =
        run.state !== 'interrupted' && run.state !== 'unfinished'
          ? run.durationMs
          : Date.parse(lastAt) - Date.parse(run.startedAt);
      const money = pricing ? { usd: costUsd(usage, pricing) } : {};
      return {
        ...run,
        completed: count('completed'),
        unverified: count('unverified'),
        failed: count('failed'),
        skipped: count('skipped'),
        durationMs,
        tokens: totalTokens(usage),
        cachedTokens: usage.cachedTokens,
        ...money,
      };
    })
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
