import { createActor, fromPromise, toPromise } from 'xstate';
import type { CompressedContext } from '../../context/compress.ts';
import type { ProjectContext } from '../../context/project-context.ts';
import { LlmError } from '../../errors.ts';
import type { AgentEvent } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { PlanTaskSchema, type PlanTask } from '../../events/work-commands.ts';
import { dataBlock } from '../../data-block.ts';
import type { PlanningContext } from '../../llm/planner.ts';
import type { Plan } from '../../plan/plan-schema.ts';
import { lookupPlan } from '../../projections/plan-cache-lookup.ts';
import { taskKey, taskText } from '../../plan/task-key.ts';
import { validatePlan } from '../../plan/validate-plan.ts';
import { planCacheProjection, type PlanCache } from '../../projections/plan-cache.ts';
import { runProjection, type RunningProjection } from '../../projections/runner.ts';
import type { TaskSpec } from '../../tasklist/task-spec.ts';
import { append, workInputs, type ActorDefinition, type ActorIO, type Effect, type Runtime } from '../actor.ts';
import { cacheDecision, planOutcome, type PlanOutcome } from './decide.ts';
import { alreadyPlanned } from './state.ts';
import { decomposerMachine } from './machine.ts';

/** What a task is planned with: the spec files and history compressed, the project's files. */
export type TaskContext = CompressedContext & { specChecksum: string; project: ProjectContext };

/** A planner the LLM answers: `plan` is undefined when no LLM is configured. */
export type Planner = {
  plan: ((runId: string, task: TaskSpec, context: PlanningContext) => Promise<Plan>) | undefined;
  close(): Promise<void>;
};

/** The I/O the decomposer asks of its host (src/host/actor-ports.ts): reading the context, the LLM. */
export type DecomposerPorts = {
  /** The task's context; `incremental` rereads only the files that changed since the last task. */
  loadContext(rt: Runtime, item: PlanTask, incremental: boolean): Promise<TaskContext>;
  openPlanner(rt: Runtime, options: { recordCalls: boolean; cancelSkipped: boolean }): Promise<Planner>;
};

/** How the reference workflow the benchmark runs differs: no plan cache, the context reloaded per task. */
export type DecomposerChoices = { planCache: boolean; incrementalContext: boolean };

const SYSTEM_CHOICES: DecomposerChoices = { planCache: true, incrementalContext: true };

/** The decomposer's long-lived state in one process: the plan cache, context loaders, the LLM. */
export type Decomposer = {
  cache: RunningProjection<PlanCache>;
  ports: DecomposerPorts;
  planner: Planner;
  /** Plan cache and incremental context on (the system) or off (the reference workflow). */
  options: DecomposerChoices;
};

export async function openDecomposer(
  rt: Runtime,
  ports: DecomposerPorts,
  options: {
    recordLlmCalls?: boolean;
    /** Off for `run --dry`: none of its tasks is ever skipped. */
    cancelSkipped?: boolean;
    choices?: DecomposerChoices;
  } = {},
): Promise<Decomposer> {
  const cache = await runProjection(rt.store, rt.snapshots, planCacheProjection(rt.config.cache.maxEntries), {
    everyEvents: rt.config.snapshots.everyEvents,
    everyMs: rt.config.snapshots.everyMs,
    onError: (e) => rt.log.error('plan cache', e),
  });
  // The cache is rebuilt from the log (snapshot + tail) before the first task is planned.
  await cache.caughtUp();
  const planner = await ports.openPlanner(rt, {
    recordCalls: options.recordLlmCalls !== false,
    cancelSkipped: options.cancelSkipped !== false,
  });
  return { cache, ports, planner, options: options.choices ?? SYSTEM_CHOICES };
}

export async function closeDecomposer(d: Decomposer): Promise<void> {
  await Promise.all([d.cache.stop(), d.planner.close()]);
}

/** The decomposer: takes `plan` work items and records PlanCreated or TaskFailed. */
export const decomposerActor = (ports: DecomposerPorts, choices = SYSTEM_CHOICES): ActorDefinition<Decomposer> => ({
  name: 'decomposer',
  open: (rt) => openDecomposer(rt, ports, { choices }),
  close: closeDecomposer,
  inputs: workInputs({
    actor: 'decomposer',
    schema: PlanTaskSchema,
    parallel: () => 8,
    run: (item) => item,
    handle: (item, io: ActorIO<Decomposer>) => planTask(io, item),
  }),
});

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
): Promise<PlanOutcome> {
  const started = performance.now();
  const { runId, task } = item;
  const ids = { runId, taskId: task.id };
  // The reference workflow reloaded the context for every task; we load it only to plan.
  const needsContext = !d.options.incrementalContext || (!item.group && task.commands.length === 0);
  const context = needsContext ? await d.ports.loadContext(rt, item, d.options.incrementalContext) : undefined;
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
          if (!d.planner.plan) {
            throw new LlmError(
              'this decomposer has no LLM configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL where it runs',
              'offline',
            );
          }
          // A task skipped while its work item waited is not worth a token.
          if (await rt.store.lastEvent(eventSubjects.of(runId, task.id, 'TaskSkipped')))
            throw new LlmError('its task was skipped before its planning began', 'cancelled');
          const strategy: string = rt.config.llm.strategy;
          const plan = await d.planner.plan(runId, task, planningContext(context));
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

/** The project tree is shared by every task planned now, so it leads; the task's own parts follow. */
function planningContext(context: TaskContext | undefined): PlanningContext {
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
