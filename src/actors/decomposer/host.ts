import { dirname, relative } from 'node:path';
import { createActor, fromPromise, toPromise } from 'xstate';
import { compressContext } from '../../context/compress.ts';
import { ContextLoader } from '../../context/context-loader.ts';
import { loadProjectContext } from '../../context/project-context.ts';
import { ProjectFiles } from '../../context/project-files.ts';
import { LlmError } from '../../errors.ts';
import { isTaskTerminal, makeEvent, type AgentEvent, type EventOf } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { PlanTaskSchema, type PlanTask } from '../../events/work-commands.ts';
import { redactorFor } from '../../exec/redaction.ts';
import { LlmClient } from '../../llm/client.ts';
import { planWithLlm, type PlanningContext } from '../../llm/planner.ts';
import { ack, consumeWork } from '../../nats/work-queue.ts';
import { lookupPlan } from '../../projections/plan-cache-lookup.ts';
import { taskKey, taskText } from '../../plan/task-key.ts';
import { validatePlan } from '../../plan/validate-plan.ts';
import { planCacheProjection, type PlanCache } from '../../projections/plan-cache.ts';
import { runProjection, type RunningProjection } from '../../projections/runner.ts';
import { TASK_HISTORY, type TaskHistory } from '../../projections/task-history.ts';
import { recordLlmCall } from '../llm-calls.ts';
import { staleWork } from '../run-control.ts';
import type { Runtime } from '../runtime.ts';
import { decomposerMachine } from './machine.ts';
import { DEFAULT_ACTOR_OPTIONS, type ActorOptions } from '../actor-options.ts';

/** The decomposer's long-lived state in one process: the plan cache, context loaders, the LLM. */
export type Decomposer = {
  cache: RunningProjection<PlanCache>;
  loaders: Map<string, ContextLoader>;
  /** The working directories this process plans for, each loaded incrementally. */
  projects: Map<string, ProjectFiles>;
  llm: LlmClient | undefined;
  /** Plan cache and incremental context on (the system) or off (the reference workflow). */
  options: Pick<ActorOptions, 'planCache' | 'incrementalContext'>;
};

export async function openDecomposer(
  rt: Runtime,
  options: { recordLlmCalls?: boolean } & Partial<Pick<ActorOptions, 'planCache' | 'incrementalContext'>> = {},
): Promise<Decomposer> {
  const cache = await runProjection(
    rt.store,
    rt.snapshots,
    planCacheProjection(rt.config.cache.maxEntries),
    { everyEvents: rt.config.snapshots.everyEvents, everyMs: rt.config.snapshots.everyMs, onError: (e) => rt.log.error('plan cache', e) },
  );
  // The cache is rebuilt from the log (snapshot + tail) before the first task is planned.
  await cache.caughtUp();
  const record = options.recordLlmCalls === false ? () => {} : recordLlmCall(rt);
  const llm = rt.config.llm.mode === 'openai' ? new LlmClient(rt.config.llm, record, redactorFor(rt.config)) : undefined;
  const { planCache, incrementalContext } = { ...DEFAULT_ACTOR_OPTIONS, ...options };
  return { cache, loaders: new Map(), projects: new Map(), llm, options: { planCache, incrementalContext } };
}

/** Hosts the decomposer: takes `plan` work items and records PlanCreated or TaskFailed. */
export async function startDecomposer(rt: Runtime, options: { parallel?: number } & Partial<Pick<ActorOptions, 'planCache' | 'incrementalContext'>> = {}) {
  const decomposer = await openDecomposer(rt, options);
  const work = await consumeWork(rt.js, 'decomposer', PlanTaskSchema, options.parallel ?? 8, async (item, info) => {
    await planTask(rt, decomposer, item, info.redelivered);
    return ack();
  }, (error, subject) => rt.log.error(`work item on ${subject} failed`, error));
  return {
    stop: async () => {
      await work.stop();
      await decomposer.cache.stop();
    },
  };
}

/**
 * Plans one task: explicit commands, else the cache (exact, or similar and validated), else the
 * LLM with the task's compressed context. Every cache decision is an event that says why.
 */
export async function planTask(rt: Runtime, d: Decomposer, item: PlanTask, redelivered = false): Promise<void> {
  const stale = await staleWork(rt, item.runId, item.generation);
  if (stale) {
    rt.log.info(`task ${item.task.id} of run ${item.runId}: not planning it (${stale})`);
    return;
  }
  if (redelivered) {
    // Its decomposer died after planning, or the task is over: plan nothing (and call no LLM) twice.
    const recorded = await rt.store.read({ subject: eventSubjects.task(item.runId, item.task.id) });
    if (recorded.some((e) => (e.type === 'PlanCreated' && e.data.revision === item.revision) || isTaskTerminal(e))) return;
  }
  // The cache's decision and the outcome are one round of appends, awaited together.
  const decisions: AgentEvent[] = [];
  const outcome = await decidePlan(rt, d, item, async (event) => {
    decisions.push(event);
  });
  await rt.store.appendAll([...decisions, outcome]);
}

/**
 * Decides a task's plan. Cache decisions go to `emit` as they happen; the returned event
 * (PlanCreated or TaskFailed) is the outcome, for the caller to record (or, for --dry, print).
 */
export async function decidePlan(
  rt: Runtime,
  d: Decomposer,
  item: PlanTask,
  emit: (event: AgentEvent) => Promise<void>,
): Promise<EventOf<'PlanCreated'> | EventOf<'TaskFailed'>> {
  const started = performance.now();
  const { runId, task } = item;
  const ids = { runId, taskId: task.id };
  // The reference workflow reloaded the context for every task; we load it only to plan.
  const needsContext = !d.options.incrementalContext || (!item.group && task.commands.length === 0);
  const context = needsContext ? await loadContext(rt, d, item) : undefined;
  // A plan made against one version of a file the task names is not served once it changed.
  const contextChecksum = context ? `${context.checksum}${context.project.namedChecksum}` : '';
  const specChecksum = context?.specChecksum ?? '';
  const key = taskKey(task, contextChecksum);
  const text = taskText(task);

  const actor = createActor(
    decomposerMachine.provide({
      actors: {
        lookupCache: fromPromise(async () => {
          const found = lookupPlan(d.cache.state(), { key, taskText: text, contextChecksum, specChecksum }, rt.config.cache.similarityThreshold);
          if (found.kind === 'exact') {
            await emit(makeEvent('PlanCacheHit', ids, { key, entryKey: found.entry.key, match: 'exact', similarity: 1, adaptations: [] }));
            return { hit: true as const, plan: found.entry.plan };
          }
          if (found.kind === 'similar') {
            const valid = await validatePlan(found.plan, item.workdir, rt.config.policy.allow);
            if (valid.ok) {
              await emit(
                makeEvent('PlanCacheHit', ids, { key, entryKey: found.entry.key, match: 'similar', similarity: found.similarity, adaptations: found.adaptations }),
              );
              return { hit: true as const, plan: found.plan };
            }
            await emit(
              makeEvent('PlanCacheMiss', ids, { key, reason: `similar entry ${found.entry.key} (${found.similarity}) rejected: ${valid.reason}`, bestEntryKey: found.entry.key, bestSimilarity: found.similarity }),
            );
            return { hit: false as const };
          }
          await emit(
            makeEvent('PlanCacheMiss', ids, { key, reason: found.reason, ...(found.best ? { bestEntryKey: found.best.key, bestSimilarity: found.best.similarity } : {}) }),
          );
          return { hit: false as const };
        }),
        planWithLlm: fromPromise(async () => {
          if (!d.llm) {
            throw new LlmError('this decomposer has no LLM configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL where it runs', 'offline');
          }
          const strategy: string = rt.config.llm.strategy;
          const plan = await planWithLlm(d.llm, runId, task, planningContext(context), rt.config.llm.strategy);
          return { plan, strategy };
        }),
      },
    }),
    { input: { task, group: item.group, llm: item.llm, useCache: d.options.planCache } },
  );
  actor.start();
  const result = await toPromise(actor);
  if (result.ok) {
    return makeEvent('PlanCreated', { ...ids, id: eventIds.planCreated(runId, task.id, item.revision) }, {
        source: result.source,
        ...(result.strategy ? { strategy: result.strategy } : {}),
        taskKey: key,
        contextChecksum,
        specChecksum,
        taskText: text,
        plan: result.plan,
        durationMs: performance.now() - started,
        // An explicit plan does not depend on what the files hold; a cached or LLM one does.
        inputs: result.source === 'explicit' ? [] : (context?.project.inputs ?? []),
        revision: item.revision,
      });
  }
  return makeEvent('TaskFailed', { ...ids, id: eventIds.task(runId, task.id, 'TaskFailed') }, { stage: 'planning', reason: result.reason });
}

async function loadContext(rt: Runtime, d: Decomposer, item: PlanTask) {
  const dir = dirname(item.tasksFile);
  let loader = d.options.incrementalContext ? d.loaders.get(dir) : undefined;
  if (!loader) d.loaders.set(dir, (loader = new ContextLoader(dir)));
  let project = d.options.incrementalContext ? d.projects.get(item.workdir) : undefined;
  if (!project) d.projects.set(item.workdir, (project = new ProjectFiles(item.workdir, PROJECT_LIMITS)));
  const [files, history, projectContext] = await Promise.all([
    loader.load(),
    rt.snapshots.load<TaskHistory>(TASK_HISTORY.name).then((s) => s?.state.entries ?? [], () => []),
    loadProjectContext(project, item.task, {
      ...(item.runStartedAt ? { since: Date.parse(item.runStartedAt) } : {}),
      budgetTokens: rt.config.context.projectTokens,
      // The coordinator ticks tasks.md as tasks finish: that is not a change a plan depends on.
      exclude: [relative(item.workdir, item.tasksFile)],
      treeEntries: rt.config.context.treeEntries,
    }),
  ]);
  const compressed = compressContext(
    item.task,
    { requirements: files.get('requirements.md')?.content ?? '', design: files.get('design.md')?.content ?? '' },
    history,
    rt.config.context.budgetTokens,
  );
  return { ...compressed, specChecksum: loader.checksum(), project: projectContext };
}

/** The project tree is shared by every task planned now, so it leads; the task's own parts follow. */
function planningContext(context: Awaited<ReturnType<typeof loadContext>> | undefined): PlanningContext {
  if (!context) return { shared: '', task: '' };
  return {
    shared: context.project.tree ? `Files in the working directory (.gitignore respected):\n${context.project.tree}` : '',
    task: [context.text, context.project.files].filter(Boolean).join('\n\n'),
  };
}

/** How much of a project one planning pass walks and reads. */
const PROJECT_LIMITS = { maxWalk: 5000, maxFileBytes: 64 * 1024 };
