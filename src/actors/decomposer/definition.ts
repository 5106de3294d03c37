import { dirname, resolve } from 'node:path';
import { createActor, fromPromise, toPromise } from 'xstate';
import { compressContext } from '../../context/compress.ts';
import { ContextLoader } from '../../context/context-loader.ts';
import { outputFiles, ownPathsIn } from '../../context/own-files.ts';
import { loadProjectContext } from '../../context/project-context.ts';
import { ProjectFiles } from '../../context/project-files.ts';
import { LlmError } from '../../errors.ts';
import type { AgentEvent, EventOf } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { PlanTaskSchema, type PlanTask } from '../../events/work-commands.ts';
import type { LlmClient } from '../../llm/client.ts';
import { dataBlock } from '../../data-block.ts';
import { planWithLlm, type PlanningContext } from '../../llm/planner.ts';
import { lookupPlan } from '../../projections/plan-cache-lookup.ts';
import { taskKey, taskText } from '../../plan/task-key.ts';
import { validatePlan } from '../../plan/validate-plan.ts';
import { planCacheProjection, type PlanCache } from '../../projections/plan-cache.ts';
import { runProjection, type RunningProjection } from '../../projections/runner.ts';
import { TASK_HISTORY, type TaskHistory } from '../../projections/task-history.ts';
import { openLlm } from '../llm-calls.ts';
import { append, workInputs, type ActorDefinition, type ActorIO, type Effect } from '../actor.ts';
import { runActor } from '../run-actor.ts';
import { alreadyPlanned, cacheDecision, planOutcome } from './core.ts';
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
  closeLlm: () => Promise<void>;
  /** Plan cache and incremental context on (the system) or off (the reference workflow). */
  options: Pick<ActorOptions, 'planCache' | 'incrementalContext'>;
};

export async function openDecomposer(
  rt: Runtime,
  options: { recordLlmCalls?: boolean } & Partial<Pick<ActorOptions, 'planCache' | 'incrementalContext'>> = {},
): Promise<Decomposer> {
  const cache = await runProjection(rt.store, rt.snapshots, planCacheProjection(rt.config.cache.maxEntries), {
    everyEvents: rt.config.snapshots.everyEvents,
    everyMs: rt.config.snapshots.everyMs,
    onError: (e) => rt.log.error('plan cache', e),
  });
  // The cache is rebuilt from the log (snapshot + tail) before the first task is planned.
  await cache.caughtUp();
  const { llm, close: closeLlm } = await openLlm(rt, { recordCalls: options.recordLlmCalls !== false });
  const { planCache, incrementalContext } = { ...DEFAULT_ACTOR_OPTIONS, ...options };
  return { cache, loaders: new Map(), projects: new Map(), llm, closeLlm, options: { planCache, incrementalContext } };
}

/** The decomposer: takes `plan` work items and records PlanCreated or TaskFailed. */
export const decomposerActor = (
  options: { parallel?: number } & Partial<Pick<ActorOptions, 'planCache' | 'incrementalContext'>> = {},
): ActorDefinition<Decomposer> => ({
  name: 'decomposer',
  open: (rt) => openDecomposer(rt, options),
  close: (d) => Promise.all([d.cache.stop(), d.closeLlm()]).then(() => {}),
  inputs: workInputs({
    actor: 'decomposer',
    schema: PlanTaskSchema,
    parallel: () => options.parallel ?? 8,
    run: (item) => item,
    handle: (item, io: ActorIO<Decomposer>) => planTask(io, item),
  }),
});

export const startDecomposer = (rt: Runtime, options: Parameters<typeof decomposerActor>[0] = {}) =>
  runActor(rt, decomposerActor(options));

/**
 * Plans one task: explicit commands, else the cache (exact, or similar and validated), else the
 * LLM with the task's compressed context. Every cache decision is an event that says why; the
 * decisions and the outcome are one round of appends.
 */
async function planTask(io: ActorIO<Decomposer>, item: PlanTask): Promise<Effect[]> {
  if (
    io.redelivered &&
    alreadyPlanned(await io.rt.store.read({ subject: eventSubjects.task(item.runId, item.task.id) }), item.revision)
  )
    return [];
  const decisions: AgentEvent[] = [];
  const outcome = await decidePlan(io.rt, io.resources, item, async (event) => {
    decisions.push(event);
  });
  return [append(...decisions, outcome)];
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
          const found = lookupPlan(
            d.cache.state(),
            { key, taskText: text, contextChecksum, specChecksum },
            rt.config.cache.similarityThreshold,
          );
          const valid =
            found.kind === 'similar'
              ? await validatePlan(found.plan, item.workdir, rt.config.policy.allow)
              : { ok: true as const };
          const decision = cacheDecision(found, ids, key, valid.ok ? undefined : valid.reason);
          await emit(decision.event);
          return decision.answer;
        }),
        planWithLlm: fromPromise(async () => {
          if (!d.llm) {
            throw new LlmError(
              'this decomposer has no LLM configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL where it runs',
              'offline',
            );
          }
          const strategy: string = rt.config.llm.strategy;
          const plan = await planWithLlm(d.llm, runId, task, planningContext(context), rt.config.llm.strategy);
          return { plan, strategy };
        }),
      },
    }),
    { input: { task, group: item.group, llm: item.llm, useCache: d.options.planCache && item.replan !== true } },
  );
  actor.start();
  const result = await toPromise(actor);
  return planOutcome(item, result, {
    taskKey: key,
    taskText: text,
    contextChecksum,
    specChecksum,
    inputs: context?.project.inputs ?? [],
    durationMs: performance.now() - started,
  });
}

async function loadContext(rt: Runtime, d: Decomposer, item: PlanTask) {
  const dir = dirname(item.tasksFile);
  let loader = d.options.incrementalContext ? d.loaders.get(dir) : undefined;
  // Spec files in the working directory are read only from within it, like the project's.
  const specRoot = ownPathsIn(item.workdir, [dir]).length > 0 ? item.workdir : dir;
  if (!loader) d.loaders.set(dir, (loader = new ContextLoader(dir, undefined, specRoot)));
  let project = d.options.incrementalContext ? d.projects.get(item.workdir) : undefined;
  if (!project) d.projects.set(item.workdir, (project = new ProjectFiles(item.workdir, PROJECT_LIMITS)));
  const [files, history, projectContext] = await Promise.all([
    loader.load(),
    rt.snapshots.load<TaskHistory>(TASK_HISTORY.name).then(
      (s) => s?.state.entries ?? [],
      () => [],
    ),
    loadProjectContext(project, item.task, {
      ...(item.runStartedAt ? { since: Date.parse(item.runStartedAt) } : {}),
      budgetTokens: rt.config.context.projectTokens,
      // The coordinator ticks tasks.md as tasks finish: that is not a change a plan depends on.
      exclude: ownPathsIn(item.workdir, [item.tasksFile]),
      // What the tool writes (this process's redirected output, the CLI's, the state folder) is never shown.
      hidden: ownPathsIn(item.workdir, [...outputFiles(), ...(item.ownFiles ?? []), resolve(rt.config.stateDir)]),
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
    shared: context.project.tree
      ? dataBlock('Files in the working directory (.gitignore respected)', context.project.tree)
      : '',
    task: [
      context.text ? dataBlock("From the project's requirements, design and earlier tasks", context.text) : '',
      context.project.files,
    ]
      .filter(Boolean)
      .join('\n\n'),
  };
}

/** How much of a project one planning pass walks and reads. */
const PROJECT_LIMITS = { maxWalk: 5000, maxFileBytes: 64 * 1024 };
