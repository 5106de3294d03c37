import type { LlmMode } from '../events/llm-mode.ts';
import { makeEvent, type AgentEvent, type StoredEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { eventSubjects } from '../events/subjects.ts';
import { buildCommandGraph } from '../exec/command-graph.ts';
import { closeDecomposer, decidePlan, openDecomposer, type Decomposer } from '../actors/decomposer/actor.ts';
import type { PlanOutcome } from '../actors/decomposer/decide.ts';
import { decomposerPorts } from '../host/actor-ports.ts';
import type { Runtime } from '../actors/actor.ts';
import { UsageTally, usageLine } from '../projections/llm-usage.ts';
import { childrenOf } from '../tasklist/task-graph.ts';
import { colours } from './progress.ts';
import { taskLabel, type TaskSpec } from '../tasklist/task-spec.ts';

type DryInput = {
  runId: string;
  tasksFile: string;
  workdir: string;
  tasks: TaskSpec[];
  llm: LlmMode;
  /** `--plan`: tasks that need the LLM are planned (as a run would, several at once) and their plans kept. */
  plan: boolean;
};
type Planned = { task: TaskSpec; notes: AgentEvent[]; outcome: PlanOutcome; needsLlm: boolean };

/**
 * `run --dry`: each pending task's plan, where it came from (explicit, cache hit and why), and its
 * command graph with the reason for each edge; a task that needs the LLM is named, not planned.
 * Nothing runs, nothing is recorded, and no LLM is called. With `--plan`, those tasks are planned
 * with the LLM, `execution.planAhead` at a time through the endpoint's limiter as in a run; each
 * attempt is recorded (LlmCalled, under the dry run's id) and each plan kept as PlanDrafted, which
 * the plan cache serves to the next run of the same task as drafted, unproven.
 */
export async function dryRun(rt: Runtime, input: DryInput, write: (line: string) => void): Promise<number> {
  const asks = input.plan && input.llm === 'openai';
  const decomposer = await openDecomposer(rt, decomposerPorts(), { recordLlmCalls: asks, cancelSkipped: false });
  const pending = input.tasks.filter((t) => !t.done);
  let planned: Planned[];
  try {
    if (asks)
      write(colours.dim(`planning with the LLM, ${planningWidth(rt)} task(s) at a time (dry run ${input.runId})`));
    planned = await eachAtMost(asks ? planningWidth(rt) : 1, pending, (task) =>
      planOne(rt, decomposer, input, task, asks),
    );
  } finally {
    await closeDecomposer(decomposer);
  }
  let failures = 0;
  const asked = input.llm !== 'openai' ? 'offline' : asks ? 'yes' : 'no';
  for (const p of planned) if (!printTask(p, asked, write)) failures++;
  const needLlm = planned.filter((p) => p.needsLlm).map((p) => p.task.id);
  write('');
  write(
    `${needLlm.length} of ${pending.length} task(s) need the LLM to be planned (not explicit, not in the plan cache)${needLlm.length ? `: ${needLlm.join(', ')}` : ''}`,
  );
  if (asks) await sayLlmUse(rt, input.runId, planned, write);
  else if (needLlm.length > 0) {
    const perTask = planningTokensPerTask(await rt.store.read({ subject: eventSubjects.type('LlmCalled') }));
    write(
      perTask === undefined
        ? colours.dim('   no planning recorded in this log yet to estimate tokens from')
        : `   about ${Math.round(perTask * needLlm.length).toLocaleString('en-US')} tokens for planning (${Math.round(perTask).toLocaleString('en-US')} per task, the average of the runs recorded here)`,
    );
  }
  return failures > 0 ? 1 : 0;
}

/** Tasks planned at once: as a run plans ahead (`execution.planAhead`, else as many as run at once). */
const planningWidth = (rt: Runtime) =>
  Math.max(1, rt.config.execution.planAhead || rt.config.execution.taskConcurrency);

/** One task's plan; with the LLM (`asks`), a plan it made is kept as a draft for the next run. */
async function planOne(
  rt: Runtime,
  decomposer: Decomposer,
  input: DryInput,
  task: TaskSpec,
  asks: boolean,
): Promise<Planned> {
  const notes: AgentEvent[] = [];
  const group = task.commands.length === 0 && childrenOf(task.id, input.tasks).length > 0;
  const item = { runId: input.runId, workdir: input.workdir, tasksFile: input.tasksFile, task, group };
  // Without --plan, never the LLM: a dry run spends nothing; what it would plan is counted instead.
  const llm = asks ? input.llm : 'offline';
  const outcome = await decidePlan(rt, decomposer, { ...item, llm, generation: 0, revision: 0 }, async (e) => {
    notes.push(e);
  });
  const needsLlm = !group && task.commands.length === 0 && !notes.some((n) => n.type === 'PlanCacheHit');
  if (outcome.type === 'PlanCreated' && outcome.data.source === 'llm') {
    const { source: _source, revision: _revision, ...made } = outcome.data;
    await rt.store.append(
      makeEvent(
        'PlanDrafted',
        { runId: input.runId, taskId: task.id, id: eventIds.planDrafted(input.runId, task.id) },
        made,
      ),
    );
  }
  return { task, notes, outcome, needsLlm };
}

/** A task's lines: where its plan came from, and its command graph. False when it cannot be planned. */
function printTask(
  { task, notes, outcome, needsLlm }: Planned,
  /** `no`: the LLM is configured and was not asked (no --plan); `offline`: there is none to ask. */
  asked: 'yes' | 'no' | 'offline',
  write: (l: string) => void,
): boolean {
  write(colours.bold(taskLabel(task.id, task.title)));
  for (const note of notes) {
    if (note.type === 'PlanCacheHit')
      write(
        `   cache hit (${note.data.match === 'drafted' ? 'drafted by run --dry --plan, unproven' : note.data.match}, entry ${note.data.entryKey}, similarity ${note.data.similarity}${note.data.adaptations.length ? `, adapted ${note.data.adaptations.map((a) => `${a.from}->${a.to}`).join(', ')}` : ''})`,
      );
    if (note.type === 'PlanCacheMiss') write(`   cache miss: ${note.data.reason}`);
  }
  for (const c of task.criteria) write(colours.dim(`   criterion in words (for the planner to check): ${c}`));
  if (outcome.type !== 'PlanCreated' && needsLlm && asked === 'no') {
    write(colours.dim('   plan: needs the LLM, not asked (--dry makes no LLM call; --dry --plan does)'));
    return true;
  }
  if (outcome.type !== 'PlanCreated') {
    write(colours.red(`   cannot plan: ${outcome.data.reason}`));
    return false;
  }
  const plan = outcome.data.plan;
  const kept = outcome.data.source === 'llm' ? ', drafted: the next run of this task uses it without the LLM' : '';
  write(
    `   plan: ${outcome.data.source}${outcome.data.strategy ? ` (${outcome.data.strategy})` : ''}, ${plan.commands.length} command(s)${kept}`,
  );
  const graph = buildCommandGraph(plan.commands);
  plan.commands.forEach((c, i) => {
    const edges = graph.edges.filter((e) => e.to === c.id);
    write(`   ${c.id.padEnd(4)} ${c.command.split('\n')[0]}${c.command.includes('\n') ? ' …' : ''}`);
    for (const e of edges) write(colours.dim(`        after ${e.from}: ${e.reason}`));
    if (edges.length === 0 && i > 0) write(colours.dim('        no dependency: starts at once'));
  });
  for (const s of plan.successCriteria) write(colours.dim(`   success: ${JSON.stringify(s)}`));
  return true;
}

/** What `--plan` spent, folded from its LlmCalled events in the log as `run` folds a run's. */
async function sayLlmUse(rt: Runtime, runId: string, planned: readonly Planned[], write: (l: string) => void) {
  await rt.background.settled();
  const calls = await rt.store.read({ subject: eventSubjects.filter({ runId, type: 'LlmCalled' }) });
  const tally = new UsageTally();
  for (const e of calls) tally.see(e);
  const drafted = planned.filter((p) => p.outcome.type === 'PlanCreated' && p.outcome.data.source === 'llm');
  write(
    `   planned now and kept for the next run: ${drafted.length ? drafted.map((p) => p.task.id).join(', ') : 'none'}`,
  );
  write(
    `LLM: ${tally.total.calls} call(s), ${usageLine(tally.total, rt.config.llm.pricing)} (recorded under ${runId})`,
  );
}

/** `work` over `items`, at most `width` at once, the results in the items' order. */
async function eachAtMost<T, R>(width: number, items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

/** Tokens an LLM-planned task took, on average over the log: planning calls (repairs included) per run and task. */
function planningTokensPerTask(calls: readonly StoredEvent[]): number | undefined {
  const perTask = new Map<string, number>();
  for (const e of calls) {
    // Every attempt: a truncated or refused one spent its tokens too (a failed one has none).
    if (e.type !== 'LlmCalled' || !e.data.purpose.startsWith('plan') || e.taskId === undefined) continue;
    const key = `${e.runId}/${e.taskId}`;
    perTask.set(key, (perTask.get(key) ?? 0) + (e.data.promptTokens ?? 0) + (e.data.completionTokens ?? 0));
  }
  const counted = [...perTask.values()].filter((t) => t > 0);
  return counted.length ? counted.reduce((a, b) => a + b, 0) / counted.length : undefined;
}
