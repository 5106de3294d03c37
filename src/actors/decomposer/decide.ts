import { makeEvent, type AgentEvent, type EventOf } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import type { PlanTask } from '../../events/work-commands.ts';
import type { PlanInput, Plan, PlanSource } from '../../plan/plan-schema.ts';
import type { Lookup } from '../../projections/plan-cache-lookup.ts';
import type { CacheAnswer, DecomposerOutput } from './machine.ts';

/**
 * The decomposer's pure core besides its machine (machine.ts: explicit, cache, LLM): what a
 * cache lookup comes to, what a planning comes to, and whether a redelivered item was planned.
 */

/**
 * The cache's answer and the event that says why. A similar entry is served only when its
 * adapted plan validated (`rejected` is why it did not).
 */
export function cacheDecision(
  found: Lookup,
  ids: { runId: string; taskId: string },
  key: string,
  rejected?: string,
): { answer: CacheAnswer; event: AgentEvent } {
  if (found.kind === 'exact' || found.kind === 'drafted') {
    return {
      answer: { hit: true, plan: found.entry.plan },
      event: makeEvent('PlanCacheHit', ids, {
        key,
        entryKey: found.entry.key,
        match: found.kind,
        similarity: 1,
        adaptations: [],
      }),
    };
  }
  if (found.kind === 'similar' && rejected === undefined) {
    return {
      answer: { hit: true, plan: found.plan },
      event: makeEvent('PlanCacheHit', ids, {
        key,
        entryKey: found.entry.key,
        match: 'similar',
        similarity: found.similarity,
        adaptations: found.adaptations,
      }),
    };
  }
  if (found.kind === 'similar') {
    return {
      answer: { hit: false },
      event: makeEvent('PlanCacheMiss', ids, {
        key,
        reason: `similar entry ${found.entry.key} (${found.similarity}) rejected: ${rejected}`,
        bestEntryKey: found.entry.key,
        bestSimilarity: found.similarity,
      }),
    };
  }
  return {
    answer: { hit: false },
    event: makeEvent('PlanCacheMiss', ids, {
      key,
      reason: found.reason,
      ...(found.best ? { bestEntryKey: found.best.key, bestSimilarity: found.best.similarity } : {}),
    }),
  };
}

export type PlanOutcome = EventOf<'PlanCreated'> | EventOf<'PlanCancelled'> | EventOf<'TaskFailed'>;

/** What planning came to, as the event that records it. */
export function planOutcome(
  item: PlanTask,
  result: DecomposerOutput,
  made: {
    taskKey: string;
    taskText: string;
    contextChecksum: string;
    specChecksum: string;
    inputs: PlanInput[];
    durationMs: number;
  },
): PlanOutcome {
  const { runId, task } = item;
  const ids = { runId, taskId: task.id };
  if (!result.ok && result.cancelled)
    return makeEvent(
      'PlanCancelled',
      { ...ids, id: eventIds.planCancelled(runId, task.id, item.revision) },
      { revision: item.revision, reason: result.reason },
    );
  if (!result.ok)
    return makeEvent(
      'TaskFailed',
      { ...ids, id: eventIds.outcome(runId, task.id, 0, item.reopened) },
      { stage: 'planning', reason: result.reason },
    );
  const plan: Plan = result.plan;
  const empty = emptyPlan(plan, item.group, result.source);
  if (empty)
    return makeEvent(
      'TaskFailed',
      { ...ids, id: eventIds.outcome(runId, task.id, 0, item.reopened) },
      { stage: 'planning', reason: empty },
    );
  return makeEvent(
    'PlanCreated',
    { ...ids, id: eventIds.planCreated(runId, task.id, item.revision) },
    {
      source: result.source,
      ...(result.strategy ? { strategy: result.strategy } : {}),
      taskKey: made.taskKey,
      contextChecksum: made.contextChecksum,
      specChecksum: made.specChecksum,
      taskText: made.taskText,
      plan,
      durationMs: made.durationMs,
      // An explicit plan does not depend on what the files hold; a cached or LLM one does.
      inputs: result.source === 'explicit' ? [] : made.inputs,
      revision: item.revision,
    },
  );
}

/**
 * Why a plan is no plan: it has no commands, so nothing would run and nothing could show the task
 * done (a ticked box for work never done). Only a heading, whose subtasks do the work, has none.
 */
export function emptyPlan(plan: Plan, group: boolean, source: PlanSource): string | undefined {
  if (group || plan.commands.length > 0) return undefined;
  const from = { explicit: 'tasks.md gives', cache: 'the cached plan has', llm: 'the LLM returned a plan with' }[
    source
  ];
  return `${from} no commands: nothing would run, so nothing could show the task done`;
}
