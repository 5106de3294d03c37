import { makeEvent } from '../../events/agent-events.ts';
import { reopenedOf } from '../../projections/attempts.ts';
import { HOME_SITE } from '../../projections/sites.ts';
import { eventIds, workIds } from '../../events/ids.ts';
import type { ExecuteTask, PlanTask, StartRun } from '../../events/work-commands.ts';
import type { ChangedInput } from '../../context/project-files.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import type { TaskSpec } from '../../tasklist/task-spec.ts';
import { append, send, tick, type Effect } from '../actor.ts';
import { decide, type Decision } from './decide.ts';

/**
 * The coordinator's pure core. Its state is the run's status (the run-status projection of the
 * run's events) and the decisions it has issued; each logged event is folded in (`evolve` is the
 * projection's), then `next` says what to do that was not done yet, and the effects of each
 * decision are data the host performs. The log is the only memory: a restarted coordinator
 * replays the run and re-issues only what is missing (ids make a repeat a no-op).
 */

/**
 * The decisions the status allows that were not issued yet; their keys are added to `issued`
 * (the host's set, grown in place: a copy per event would cost a run time quadratic in its size).
 */
export function next(status: RunStatus, issued: Set<string>): { decisions: Decision[]; issued: Set<string> } {
  const decisions = decide(status, issued);
  for (const d of decisions) issued.add(d.key);
  return { decisions, issued };
}

/** The run's start, in one round of appends: the run, then its tasks. */
export function startEffects(start: StartRun): Effect[] {
  const { runId, options } = start;
  const pending = start.tasks.filter((t) => !t.done);
  return [
    append(
      makeEvent(
        'RunStarted',
        { runId, id: eventIds.run(runId, 'RunStarted') },
        {
          tasksFile: start.tasksFile,
          workdir: start.workdir,
          taskIds: pending.map((t) => t.id),
          alreadyDone: start.tasks.filter((t) => t.done).map((t) => t.id),
          options,
          ...(start.weakened?.length ? { weakened: start.weakened } : {}),
          ...(start.project ? { project: start.project } : {}),
        },
      ),
      ...pending.map((task) =>
        makeEvent(
          'TaskSubmitted',
          { runId, taskId: task.id, id: eventIds.task(runId, task.id, 'TaskSubmitted') },
          { task },
        ),
      ),
    ),
  ];
}

/**
 * What the host observed for a decision. `changed`: an `execute` or `revalidate` decision's plan
 * inputs changed since the plan was made (plan again instead); `now` ends the run's clock;
 * `site`, where an execute item goes (routing.ts).
 */
export type Observed = {
  startedAt?: string;
  changed: ChangedInput[];
  now: number;
  site?: { site: string; attempt: number; workId: string };
};

type DecisionOf<K extends Decision['kind']> = Extract<Decision, { kind: K }>;

/** A decision's effects: work items to send, events to append, or the one-byte write to tasks.md (`tick`). */
export function decisionEffects(start: StartRun, decision: Decision, observed: Observed): Effect[] {
  const { runId } = start;
  switch (decision.kind) {
    case 'plan':
      return [planItem(start, decision, observed)];
    case 'revalidate':
      return invalidation(runId, decision.taskId, decision.revision, observed.changed);
    case 'execute':
      // Planned ahead while earlier tasks ran: if they changed a file this plan was made from,
      // the plan is out of date. Plan again (recorded) instead of running it.
      if (observed.changed.length > 0) return invalidation(runId, decision.taskId, decision.revision, observed.changed);
      return [executeItem(start, decision, observed)];
    case 'skip':
      return [skipped(runId, decision)];
    case 'tick':
      return [tick(runId, start.tasksFile, [{ id: decision.taskId, line: taskOf(start, decision.taskId)?.line }])];
    case 'halt':
      return [
        append(
          makeEvent(
            'RunInterrupted',
            { runId, id: eventIds.budgetStop(runId, decision.generation) },
            { reason: decision.reason, budget: true },
          ),
        ),
      ];
    case 'pause':
      return [
        append(makeEvent('RunInterrupted', { runId, id: eventIds.reviewPause(runId) }, { reason: decision.reason })),
      ];
    case 'finish':
      return [finished(runId, decision, observed.now)];
    default: {
      const never: never = decision;
      return never;
    }
  }
}

/** The task's plan work item for the decomposer. */
function planItem(start: StartRun, decision: DecisionOf<'plan'>, observed: Observed): Effect {
  const { runId, options } = start;
  const task = taskOf(start, decision.taskId)!;
  const item: PlanTask = {
    runId,
    workdir: start.workdir,
    tasksFile: start.tasksFile,
    task,
    group: decision.group,
    llm: options.llm,
    generation: decision.generation,
    revision: decision.revision,
    ...reopenedOf(decision),
    ...(observed.startedAt ? { runStartedAt: observed.startedAt } : {}),
    ...(options.ownFiles ? { ownFiles: options.ownFiles } : {}),
    ...(options.replan?.includes(task.id) ? { replan: true } : {}),
  };
  return send('decomposer', 'plan', item, workIds.plan(runId, task.id, decision.generation, decision.revision));
}

/** The task's execute work item for the executor, on a site's own queue when it was routed to one. */
function executeItem(start: StartRun, decision: DecisionOf<'execute'>, observed: Observed): Effect {
  const { runId, options } = start;
  const task = taskOf(start, decision.taskId);
  const item: ExecuteTask = {
    runId,
    taskId: decision.taskId,
    tasksFile: start.tasksFile,
    ...(options.ownFiles ? { ownFiles: options.ownFiles } : {}),
    ...(options.commit ? { commit: true } : {}),
    ...(task ? { title: task.title, description: task.description, requirements: task.requirements } : {}),
    workdir: start.workdir,
    plan: decision.plan,
    planEventId: decision.planEventId,
    llm: options.llm,
    commandConcurrency: options.commandConcurrency,
    generation: decision.generation,
    ...reopenedOf(decision),
    ...(observed.site ? { route: { site: observed.site.site, attempt: observed.site.attempt } } : {}),
  };
  // Routed to a site: its own queue (home: the shared one), under an id of that route (a reroute is another item).
  const id = observed.site?.workId ?? workIds.execute(runId, decision.taskId, decision.generation, decision.revision);
  const queue = observed.site?.site === HOME_SITE ? undefined : observed.site?.site;
  return send('executor', 'execute', item, id, queue);
}

function skipped(runId: string, decision: DecisionOf<'skip'>): Effect {
  return append(
    makeEvent(
      'TaskSkipped',
      { runId, taskId: decision.taskId, id: eventIds.outcome(runId, decision.taskId, 0, decision.reopened) },
      { reason: decision.reason, optional: decision.optional },
    ),
  );
}

function finished(runId: string, decision: DecisionOf<'finish'>, now: number): Effect {
  return append(
    makeEvent(
      'RunFinished',
      { runId, id: eventIds.runFinished(runId, decision.reopened) },
      {
        status: decision.status,
        completed: decision.completed,
        unverified: decision.unverified,
        failed: decision.failed,
        skipped: decision.skipped,
        durationMs: Math.max(0, now - Date.parse(decision.startedAt)),
        tokens: decision.tokens,
        ...(decision.usd !== undefined ? { usd: decision.usd } : {}),
      },
    ),
  );
}

/** The run's tasks by id, indexed once per run: a search per decision would make a long run's decisions quadratic. */
const taskIndexes = new WeakMap<StartRun, Map<string, TaskSpec>>();
function taskOf(start: StartRun, id: string): TaskSpec | undefined {
  let index = taskIndexes.get(start);
  if (!index) taskIndexes.set(start, (index = new Map(start.tasks.map((t) => [t.id, t]))));
  return index.get(id);
}

/** A plan out of date: recorded, and the task planned again. The id makes a second detection a no-op. */
function invalidation(runId: string, taskId: string, revision: number, changed: ChangedInput[]): Effect[] {
  if (changed.length === 0) return [];
  const next = revision + 1;
  return [
    append(
      makeEvent(
        'PlanInvalidated',
        { runId, taskId, id: eventIds.planInvalidated(runId, taskId, next) },
        {
          revision: next,
          changed,
          reason: `${changed.map((c) => c.path).join(', ')} changed after the plan was made`,
        },
      ),
    ),
  ];
}
