import type { LlmMode } from '../events/llm-mode.ts';
import type { AgentEvent, StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import { buildCommandGraph } from '../exec/command-graph.ts';
import { closeDecomposer, decidePlan, openDecomposer } from '../actors/decomposer/definition.ts';
import { decomposerPorts } from '../host/actor-ports.ts';
import type { Runtime } from '../actors/actor.ts';
import { childrenOf } from '../tasklist/task-graph.ts';
import { colours } from './progress.ts';
import { taskLabel, type TaskSpec } from '../tasklist/task-spec.ts';

/**
 * `run --dry`: each pending task's plan, where it came from (explicit, cache hit and why), and its
 * command graph with the reason for each edge; a task that needs the LLM is named, not planned.
 * Nothing runs, nothing is recorded, and no LLM is called.
 */
export async function dryRun(
  rt: Runtime,
  input: { runId: string; tasksFile: string; workdir: string; tasks: TaskSpec[]; llm: LlmMode },
  write: (line: string) => void,
): Promise<number> {
  const decomposer = await openDecomposer(rt, decomposerPorts(), { recordLlmCalls: false });
  let failures = 0;
  const needLlm: string[] = [];
  const pending = input.tasks.filter((t) => !t.done);
  try {
    for (const task of pending) {
      const notes: AgentEvent[] = [];
      const group = task.commands.length === 0 && childrenOf(task.id, input.tasks).length > 0;
      const outcome = await decidePlan(
        rt,
        decomposer,
        {
          runId: input.runId,
          workdir: input.workdir,
          tasksFile: input.tasksFile,
          task,
          group,
          // Never the LLM: a dry run spends nothing; what it would plan is counted below.
          llm: 'offline',
          generation: 0,
          revision: 0,
        },
        async (e) => {
          notes.push(e);
        },
      );
      const needsLlm = !group && task.commands.length === 0 && !notes.some((n) => n.type === 'PlanCacheHit');
      if (needsLlm) needLlm.push(task.id);
      write(colours.bold(taskLabel(task.id, task.title)));
      for (const note of notes) {
        if (note.type === 'PlanCacheHit')
          write(
            `   cache hit (${note.data.match}, entry ${note.data.entryKey}, similarity ${note.data.similarity}${note.data.adaptations.length ? `, adapted ${note.data.adaptations.map((a) => `${a.from}->${a.to}`).join(', ')}` : ''})`,
          );
        if (note.type === 'PlanCacheMiss') write(`   cache miss: ${note.data.reason}`);
      }
      for (const c of task.criteria) write(colours.dim(`   criterion in words (for the planner to check): ${c}`));
      if (outcome.type === 'TaskFailed' && needsLlm && input.llm === 'openai') {
        write(colours.dim('   plan: needs the LLM, not asked (--dry makes no LLM call)'));
        continue;
      }
      if (outcome.type === 'TaskFailed') {
        failures++;
        write(colours.red(`   cannot plan: ${outcome.data.reason}`));
        continue;
      }
      const plan = outcome.data.plan;
      write(
        `   plan: ${outcome.data.source}${outcome.data.strategy ? ` (${outcome.data.strategy})` : ''}, ${plan.commands.length} command(s)`,
      );
      const graph = buildCommandGraph(plan.commands);
      plan.commands.forEach((c, i) => {
        const edges = graph.edges.filter((e) => e.to === c.id);
        write(`   ${c.id.padEnd(4)} ${c.command.split('\n')[0]}${c.command.includes('\n') ? ' …' : ''}`);
        for (const e of edges) write(colours.dim(`        after ${e.from}: ${e.reason}`));
        if (edges.length === 0 && i > 0) write(colours.dim('        no dependency: starts at once'));
      });
      for (const s of plan.successCriteria) write(colours.dim(`   success: ${JSON.stringify(s)}`));
    }
  } finally {
    await closeDecomposer(decomposer);
  }
  write('');
  write(
    `${needLlm.length} of ${pending.length} task(s) need the LLM to be planned (not explicit, not in the plan cache)${needLlm.length ? `: ${needLlm.join(', ')}` : ''}`,
  );
  if (needLlm.length > 0) {
    const perTask = planningTokensPerTask(await rt.store.read({ subject: eventSubjects.type('LlmCalled') }));
    write(
      perTask === undefined
        ? colours.dim('   no planning recorded in this log yet to estimate tokens from')
        : `   about ${Math.round(perTask * needLlm.length).toLocaleString('en-US')} tokens for planning (${Math.round(perTask).toLocaleString('en-US')} per task, the average of the runs recorded here)`,
    );
  }
  return failures > 0 ? 1 : 0;
}

/** Tokens an LLM-planned task took, on average over the log: planning calls (repairs included) per run and task. */
export function planningTokensPerTask(calls: readonly StoredEvent[]): number | undefined {
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
