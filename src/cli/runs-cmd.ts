import { loadConfig } from '../config.ts';
import { eventSubjects } from '../events/subjects.ts';
import {
  evolveRunStatus,
  initialRunStatus,
  taskOutcomes,
  type TaskOutcome,
  type TaskStatus,
} from '../projections/run-status.ts';
import { summarizeRuns, type RunState } from '../report/run-summary.ts';
import { budgetText, tokensNote, usageLine, usd } from '../projections/llm-usage.ts';
import { siteLabel } from '../projections/sites.ts';
import { withRuntime } from './nats-session.ts';
import { recordedRun } from './recorded-run.ts';
import { weakeningLine } from '../weakenings.ts';
import { colours } from './progress.ts';
import { taskLabel } from '../tasklist/task-spec.ts';
import { out, outJson } from './terminal.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
/** A state's word (or `text`, the word padded) in its colour. */
const paintState = (state: RunState | TaskStatus['state'], text: string = state) =>
  state === 'succeeded' || state === 'completed'
    ? colours.green(text)
    : state === 'failed'
      ? colours.red(text)
      : colours.yellow(text);

/** `implement-agent runs [--limit N] [--json]`: the recent runs in this log, newest first. */
export async function runsCommand(options: { limit: number; json: boolean }): Promise<number> {
  const cwd = process.cwd();
  return withRuntime(await loadConfig({ cwd }), cwd, 'runs', async (rt) => {
    const read = (subject: string) => rt.store.read({ subject });
    const groups = await Promise.all([
      read(eventSubjects.runLevelOfAll()),
      ...(['TaskCompleted', 'TaskFailed', 'TaskSkipped', 'LlmCalled'] as const).map((t) => read(eventSubjects.type(t))),
    ]);
    const runs = summarizeRuns(groups.flat()).slice(0, options.limit);
    if (options.json) {
      for (const r of runs) outJson(r);
      return 0;
    }
    if (runs.length === 0) {
      out('no runs in this log yet');
      return 0;
    }
    const rows = runs.map((r) => [
      r.runId,
      r.state,
      `${r.completed}/${r.tasks} done, ${r.unverified ? `${r.unverified} unverified, ` : ''}${r.failed} failed`,
      r.startedAt.replace('T', ' ').slice(0, 19),
      seconds(r.durationMs),
      `${r.tokens.toLocaleString('en-US')}${r.usd !== undefined ? ` ${usd(r.usd)}` : ''}`,
      r.tasksFile,
    ]);
    const header = ['RUN', 'STATUS', 'TASKS', 'STARTED (UTC)', 'TOOK', 'LLM TOKENS', 'TASKS FILE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[], paint = (c: string, _i: number) => c) =>
      cells
        .map((c, i) => paint(c.padEnd(widths[i]!), i))
        .join('  ')
        .trimEnd();
    out(colours.bold(line(header)));
    for (const r of rows) out(line(r, (c, i) => (i === 1 ? paintState(r[1] as RunState, c) : c)));
    return 0;
  });
}

/** `implement-agent status <runId> [--json]`: the run and each of its tasks, from the log. */
export async function statusCommand(runId: string, json: boolean): Promise<number> {
  const cwd = process.cwd();
  return withRuntime(await loadConfig({ cwd }), cwd, 'status', async (rt) => {
    const events = await recordedRun(rt, runId);
    const status = events.reduce(evolveRunStatus, initialRunStatus(runId));
    const outcomes = taskOutcomes(status);
    const summary = summarizeRuns(events)[0];
    const started = events.find((e) => e.type === 'RunStarted');
    const weakened = (started?.type === 'RunStarted' && started.data.weakened) || [];
    if (json) {
      outJson({
        ...summary,
        ...(weakened.length ? { weakened } : {}),
        usage: status.usage,
        ...(status.options.budget ? { budget: status.options.budget } : {}),
        tasks: status.order.map((id) => taskJson(id, status.tasks[id]!, outcomes.get(id)!)),
      });
      return 0;
    }
    if (summary) {
      out(
        `${colours.bold(`run ${runId}`)} ${paintState(summary.state)}: ${summary.completed}/${summary.tasks} done, ${summary.unverified ? `${summary.unverified} unverified, ` : ''}${summary.failed} failed, ${summary.skipped} skipped, ${seconds(summary.durationMs)}`,
      );
      out(colours.dim(`${status.tasksFile} (workdir ${status.workdir})`));
      for (const w of weakened) out(colours.yellow(weakeningLine(w)));
      if (status.usage.calls > 0)
        out(
          `LLM: ${status.usage.calls} call(s), ${usageLine(status.usage, status.options.pricing)}${status.options.budget ? `; budget ${budgetText(status.options.budget)}` : ''}`,
        );
      if (status.budgetStop) out(colours.yellow(`stopped: ${status.budgetStop}`));
    }
    for (const id of status.order) {
      const t = status.tasks[id]!;
      const { state, reason } = outcomes.get(id)!;
      const took =
        t.firstAt && t.lastAt && state !== 'pending'
          ? colours.dim(` ${seconds(Date.parse(t.lastAt) - Date.parse(t.firstAt))}`)
          : '';
      const note = tokensNote(t.usage);
      const tokens = note && colours.dim(note);
      out(
        `  ${paintState(state, state.padEnd(10))} ${taskLabel(id, t.spec.title)}${took}${tokens}${stepNote(t)}${reason ? `: ${reason}` : ''}`,
      );
    }
    if (summary?.state === 'unfinished' || summary?.state === 'interrupted') {
      out(
        colours.dim(
          `continue it with: implement-agent resume ${runId}${status.budgetStop ? ' --budget <tokens or $>' : ''}`,
        ),
      );
    }
    return 0;
  });
}

/** What is known of a task as a step: unverified, its files, its commit, undone since. */
function stepNote(t: TaskStatus): string {
  const parts = [
    t.state === 'unverified' ? colours.yellow('no evidence it did its work: not ticked') : '',
    t.site ? siteLabel(t.site) : '',
    t.waiting && t.state !== 'completed' ? colours.yellow(`waits: ${t.waiting}`) : '',
    t.changedFiles ? `${t.changedFiles} file(s) changed` : '',
    t.commit ? `commit ${t.commit.slice(0, 10)}` : '',
    t.undone ? colours.yellow(t.undone) : '',
  ].filter(Boolean);
  return parts.length ? colours.dim(` (${parts.join(', ')})`) : '';
}

function taskJson(id: string, t: TaskStatus, outcome: TaskOutcome) {
  return {
    id,
    title: t.spec.title,
    state: outcome.state,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(t.firstAt ? { firstAt: t.firstAt } : {}),
    ...(t.lastAt ? { lastAt: t.lastAt } : {}),
    ...(t.usage ? { usage: t.usage } : {}),
    ...(t.evidence ? { evidence: t.evidence } : {}),
    ...(t.changedFiles ? { changedFiles: t.changedFiles } : {}),
    ...(t.commit ? { commit: t.commit } : {}),
    ...(t.undone ? { undone: t.undone } : {}),
    ...(t.site ? { site: t.site } : {}),
    ...(t.waiting ? { waiting: t.waiting } : {}),
  };
}
