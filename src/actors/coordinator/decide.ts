import type { RunOutcome } from '../../events/agent-events.ts';
import { decisionKeys } from '../../events/ids.ts';
import type { Plan, PlanInput } from '../../plan/plan-schema.ts';
import { taskOutcomes, type RunStatus, type TaskState } from '../../projections/run-status.ts';
import { reopenedOf, type Reopened } from '../../projections/attempts.ts';
import { budgetSpent, costUsd, totalTokens } from '../../projections/llm-usage.ts';
import { blockersIn, taskGraph, type Blocker, type TaskGraph } from '../../tasklist/task-graph.ts';
import type { TaskSpec } from '../../tasklist/task-spec.ts';

/** What the coordinator does next. `key` makes each decision happen once per run. */
export type Decision =
  | ({ kind: 'plan'; key: string; taskId: string; group: boolean; generation: number; revision: number } & Reopened)
  | ({
      kind: 'execute';
      key: string;
      taskId: string;
      plan: Plan;
      planEventId: string;
      /** Checked before the work goes out: a changed input means plan again. */
      planInputs: PlanInput[];
      revision: number;
      generation: number;
    } & Reopened)
  /**
   * A plan made ahead, checked again as soon as another task finished (which may have written a
   * file it was made from): a changed input means plan again now, while other tasks run, instead
   * of when the task is about to start.
   */
  | { kind: 'revalidate'; key: string; taskId: string; planInputs: PlanInput[]; revision: number }
  | ({ kind: 'skip'; key: string; taskId: string; reason: string; optional: boolean } & Reopened)
  | { kind: 'tick'; key: string; taskId: string }
  /** The LLM budget is spent and nothing else can move: the run stops until `resume --budget`. */
  | { kind: 'halt'; key: string; reason: string; generation: number }
  /** `--pause-after N`: N tasks have completed; nothing new starts until `resume`. */
  | { kind: 'pause'; key: string; reason: string }
  | ({
      kind: 'finish';
      key: string;
      status: RunOutcome;
      completed: string[];
      unverified: string[];
      failed: string[];
      skipped: string[];
      startedAt: string;
      tokens: number;
      usd?: number;
    } & Reopened);

/** A task's outcome as its dependants see it; `unverified` blocks them as `dead` does, but says why apart. */
type Outcome = 'done' | 'dead' | 'unverified' | 'waiting';
/** What a task waiting on several reads first: a dead one, then an unverified one, then one not over yet. */
const PRECEDENCE: readonly Outcome[] = ['dead', 'unverified', 'waiting'];
const combined = (outcomes: readonly Outcome[]): Outcome => PRECEDENCE.find((o) => outcomes.includes(o)) ?? 'done';

/**
 * The coordinator's policy as a pure function of the run's events (folded into `status`) and the
 * decisions already issued: which tasks to plan, execute, skip or tick, and when the run is over.
 * One view of the run is read once per event; each rule below says one kind of decision, in the
 * way a decider dispatches to small functions.
 */
export function decide(status: RunStatus, issued: ReadonlySet<string>): Decision[] {
  if (!status.started || status.finished) return [];
  if (status.taskIds.some((id) => !status.tasks[id])) return [];
  const run = viewOf(status, issued);
  // Interrupted: nothing new starts, but a task that finishes in the meantime is still ticked.
  if (status.interrupted) return tick(run);
  const review = reviewPoint(run);
  if (review) return review;
  const decisions = startNext(run);
  decisions.push(...revalidate(run, decisions), ...tick(run));
  decisions.push(...haltOnBudget(run, decisions), ...finish(run, decisions));
  return decisions;
}

/** What every rule reads of the run: its outcomes, its structure, what is under way, the keys of its work. */
type RunView = ReturnType<typeof viewOf>;

function viewOf(status: RunStatus, issued: ReadonlySet<string>) {
  const graph = graphOf(status);
  const own = (id: string): Outcome => {
    if (status.alreadyDone.includes(id)) return 'done';
    const task = status.tasks[id];
    if (task?.state === 'completed' || (task?.state === 'skipped' && task.skippedByChoice)) return 'done';
    if (task?.state === 'unverified') return 'unverified';
    return task?.state === 'failed' || task?.state === 'skipped' ? 'dead' : 'waiting';
  };
  const full = (id: string): Outcome => combined([own(id), ...graph.children(id).map((c) => full(c.id))]);
  /** `full(id) === 'done'`, stopping at the first task not done. */
  const fullyDone = (id: string): boolean => own(id) === 'done' && graph.children(id).every((c) => fullyDone(c.id));
  // Work keys carry the resume generation (after a resume, work cut short is issued anew) and
  // the plan revision (a plan invalidated before its task started is made again).
  const planKey = (id: string) => decisionKeys.plan(id, status.generation, status.tasks[id]!.revision);
  const execKey = (id: string) => decisionKeys.execute(id, status.generation, status.tasks[id]!.revision);
  // One pass over the run for what is under way (each count a scan of its own made every event cost several passes).
  // `anyDead`: a task that blocks its dependants (failed, skipped against its will, unverified).
  const counts = {
    executing: 0,
    planning: 0,
    /** Skipped while the decomposer planned them: the run waits for its answer, so no call outlives it. */
    cancelling: 0,
    planned: 0,
    finished: 0,
    anyFailed: false,
    anyUnverified: false,
    anyDead: false,
  };
  for (const id of status.order) {
    const { state, skippedByChoice, answered, revision } = status.tasks[id]!;
    if (state === 'executing' || (state === 'planned' && issued.has(execKey(id)))) counts.executing++;
    if (state === 'pending' && issued.has(planKey(id))) counts.planning++;
    if (state === 'skipped' && issued.has(planKey(id)) && (answered ?? -1) < revision) counts.cancelling++;
    if (state === 'planned' || state === 'executing') counts.planned++;
    if (state === 'completed' || state === 'unverified' || state === 'failed') counts.finished++;
    if (state === 'failed') counts.anyFailed = true;
    if (state === 'unverified') counts.anyUnverified = true;
    if (state === 'failed' || state === 'unverified' || (state === 'skipped' && !skippedByChoice))
      counts.anyDead = true;
  }
  return {
    status,
    issued,
    graph,
    own,
    fullyDone,
    planKey,
    execKey,
    counts,
    outcomeOf: (b: Blocker) => (b.need === 'own' ? own(b.id) : full(b.id)),
    /** Every blocker done (when none can be dead): `blockersIn` without building it. */
    isReady: (spec: TaskSpec): boolean => {
      if (spec.depends !== undefined) {
        if (!spec.depends.every(fullyDone)) return false;
      } else {
        const previous = graph.previousSibling(spec);
        if (previous && !fullyDone(previous.id)) return false;
      }
      return spec.parentId === undefined || own(spec.parentId) === 'done';
    },
    // Once the budget is spent, a task that needs the LLM to be planned is held, not failed, so
    // that a resume with a larger budget plans it; everything else goes on.
    spent: budgetSpent(status.usage, status.options.budget, status.options.pricing),
    held: [] as string[],
  };
}

/**
 * Plan next, execute ready, skip what cannot run: one pass over the tasks in file order, the
 * counts of what is under way growing as decisions are made, within the concurrency limits.
 */
function startNext(run: RunView): Decision[] {
  const { status, issued, counts } = run;
  const decisions: Decision[] = [];
  // Without planning ahead, a task is planned only when it may start, within the task concurrency.
  let inFlight = counts.planned + counts.planning;
  for (const id of status.order) {
    const task = status.tasks[id]!;
    if ((task.state !== 'pending' && task.state !== 'planned') || issued.has(decisionKeys.skip(id))) continue;
    // Sent to an executor: its own outcome comes, and a skip now would be a second one.
    if (task.state === 'planned' && issued.has(run.execKey(id))) continue;
    const skipped = skipRule(run, id);
    if (skipped) {
      decisions.push(skipped);
      continue;
    }
    const ready = readiness(run, id);
    if (ready === 'skip') {
      decisions.push(skipRule(run, id, true)!);
      continue;
    }
    if (ready === 'no-room') continue;
    if (task.state === 'planned') {
      const execute = executeRule(run, id, ready);
      if (execute) decisions.push(execute);
      continue;
    }
    if (issued.has(run.planKey(id))) continue;
    if (run.spent && task.spec.commands.length === 0 && !isGroup(task.spec, run.graph)) {
      run.held.push(id);
      continue;
    }
    const mayPlan =
      status.options.planAhead > 0
        ? counts.planning < status.options.planAhead
        : ready && inFlight < status.options.taskConcurrency;
    if (!mayPlan) continue;
    counts.planning++;
    inFlight++;
    decisions.push({
      kind: 'plan',
      key: run.planKey(id),
      taskId: id,
      group: isGroup(task.spec, run.graph),
      generation: status.generation,
      revision: task.revision,
      ...reopenedOf(task),
    });
  }
  return decisions;
}

/** A task skipped by the continue policy, by --skip-optional, or (`blocked`) because a task it waits for did not complete. */
function skipRule(run: RunView, id: string, blocked = false): Decision | undefined {
  const { status } = run;
  const task = status.tasks[id]!;
  const skip = (reason: string, optional = false): Decision => ({
    kind: 'skip',
    key: decisionKeys.skip(id),
    taskId: id,
    reason,
    optional,
    ...reopenedOf(task),
  });
  if (status.options.continuePolicy === 'never' && (run.counts.anyFailed || run.counts.anyUnverified))
    return skip(`an earlier task ${run.counts.anyFailed ? 'failed' : 'completed unverified'} (continue policy: never)`);
  if (task.spec.optional && status.options.skipOptional)
    return skip('optional task ([ ]*), skipped by --skip-optional', true);
  if (!blocked) return undefined;
  const blockers = blockersIn(run.graph, task.spec);
  const dead = blockers.find((b) => run.outcomeOf(b) === 'dead');
  if (dead) return skip(`task ${dead.id} did not complete`);
  const unverified = blockers.find((b) => run.outcomeOf(b) === 'unverified')!;
  return skip(
    `task ${unverified.id} completed unverified (nothing showed it did its work), so what builds on it does not start; check it, or run with --continue always`,
  );
}

/** Whether a task's blockers are done; `skip` when one is dead (and the policy is not `always`); `no-room` when it can get no decision now. */
function readiness(run: RunView, id: string): boolean | 'skip' | 'no-room' {
  const { status, issued, counts } = run;
  const task = status.tasks[id]!;
  if (counts.anyDead) {
    const outcomes = blockersIn(run.graph, task.spec).map(run.outcomeOf);
    const blocked = outcomes.includes('dead') || outcomes.includes('unverified');
    if (blocked && status.options.continuePolicy !== 'always') return 'skip';
    return !outcomes.includes('waiting');
  }
  // Nothing failed or was skipped, so nothing is skipped now: a task that can get no decision
  // (no room for its next step, or already issued) needs no further look, and a task's
  // readiness is read without building its blockers. This keeps a long run's decisions cheap.
  if (task.state === 'planned' && (issued.has(run.execKey(id)) || counts.executing >= status.options.taskConcurrency))
    return 'no-room';
  if (
    task.state === 'pending' &&
    (issued.has(run.planKey(id)) || (status.options.planAhead > 0 && counts.planning >= status.options.planAhead))
  )
    return 'no-room';
  return run.isReady(task.spec);
}

/** A planned task whose blockers are done starts, within the task concurrency. */
function executeRule(run: RunView, id: string, ready: boolean): Decision | undefined {
  const { status, counts } = run;
  const task = status.tasks[id]!;
  if (
    run.issued.has(run.execKey(id)) ||
    !ready ||
    !task.plan ||
    !task.planEventId ||
    counts.executing >= status.options.taskConcurrency
  )
    return undefined;
  counts.executing++;
  return {
    kind: 'execute',
    key: run.execKey(id),
    taskId: id,
    plan: task.plan,
    planEventId: task.planEventId,
    planInputs: task.started ? [] : (task.planInputs ?? []),
    revision: task.revision,
    generation: status.generation,
    ...reopenedOf(task),
  };
}

/** Each task that finished may have changed what a plan made ahead was made from: check those plans again. */
function revalidate(run: RunView, decided: readonly Decision[]): Decision[] {
  const { status, issued, counts } = run;
  const out: Decision[] = [];
  if (counts.finished === 0) return out;
  for (const id of status.order) {
    const task = status.tasks[id]!;
    if (task.state !== 'planned' || task.started || !task.planInputs?.length || issued.has(run.execKey(id))) continue;
    if (decided.some((d) => d.kind === 'execute' && d.taskId === id)) continue;
    const key = decisionKeys.revalidate(id, status.generation, task.revision, counts.finished);
    if (!issued.has(key))
      out.push({ kind: 'revalidate', key, taskId: id, planInputs: task.planInputs, revision: task.revision });
  }
  return out;
}

/** A task done with all its subtasks is ticked; one completed unverified (a fix replaced its command, no criterion checked it) is not done. */
function tick(run: RunView): Decision[] {
  const { status, issued } = run;
  return status.order
    .filter((id) => !issued.has(decisionKeys.tick(id)) && status.tasks[id]!.state !== 'skipped' && run.fullyDone(id))
    .map((id): Decision => ({ kind: 'tick', key: decisionKeys.tick(id), taskId: id }));
}

const waitsOnNothing = (decided: readonly Decision[]) =>
  !decided.some((d) => d.kind !== 'tick' && d.kind !== 'revalidate');

/** The LLM budget is spent, tasks wait for it, and nothing else can move: the run stops until `resume --budget`. */
function haltOnBudget(run: RunView, decided: readonly Decision[]): Decision[] {
  const { status, counts } = run;
  const key = decisionKeys.halt(status.generation);
  if (
    !run.spent ||
    run.held.length === 0 ||
    !waitsOnNothing(decided) ||
    counts.executing > 0 ||
    counts.planning > 0 ||
    run.issued.has(key)
  )
    return [];
  return [
    {
      kind: 'halt',
      key,
      reason: `${run.spent}; waiting for the LLM: task(s) ${run.held.join(', ')}`,
      generation: status.generation,
    },
  ];
}

/**
 * A review point (`--pause-after N`, first generation only, so that `resume` runs the rest): once N
 * tasks have completed, the run pauses as interrupted, decided in the same pass that saw the Nth
 * complete, so no further task is started; tasks already running still finish and are ticked.
 */
function reviewPoint(run: RunView): Decision[] | undefined {
  const { status, issued } = run;
  const { pauseAfter } = status.options;
  if (pauseAfter === undefined || status.generation > 0) return undefined;
  const completed = status.order.filter((id) => ['completed', 'unverified'].includes(status.tasks[id]!.state)).length;
  if (completed < pauseAfter || status.order.every((id) => run.own(id) !== 'waiting')) return undefined;
  const key = decisionKeys.pause();
  const reason = `paused for review after ${completed} completed task(s) (--pause-after ${pauseAfter})`;
  return [...(issued.has(key) ? [] : [{ kind: 'pause' as const, key, reason }]), ...tick(run)];
}

/**
 * Every task has its outcome and nothing is left to issue: the run finishes, failed if a task
 * failed, unverified if one completed without evidence (the tasks skipped against their will then
 * wait on it), failed if a task was skipped against its will otherwise.
 */
function finish(run: RunView, decided: readonly Decision[]): Decision[] {
  const { status } = run;
  const terminal = status.order.every((id) => run.own(id) !== 'waiting');
  if (!terminal || !waitsOnNothing(decided) || run.counts.cancelling > 0 || run.issued.has(decisionKeys.finish()))
    return [];
  // Each task's one outcome, a task with subtasks done only once they are (as `status` shows it).
  const outcomes = taskOutcomes(status);
  const pick = (state: TaskState) => status.order.filter((id) => outcomes.get(id)!.state === state);
  const failed = pick('failed');
  const unverified = pick('unverified');
  const skippedAgainstWill = pick('skipped').filter((id) => !status.tasks[id]!.skippedByChoice);
  const outcome: RunOutcome =
    failed.length > 0
      ? 'failed'
      : unverified.length > 0
        ? 'unverified'
        : skippedAgainstWill.length > 0
          ? 'failed'
          : 'succeeded';
  return [
    {
      kind: 'finish',
      key: decisionKeys.finish(),
      status: outcome,
      completed: pick('completed'),
      unverified,
      failed,
      skipped: pick('skipped'),
      startedAt: status.startedAt ?? new Date().toISOString(),
      tokens: totalTokens(status.usage),
      ...(status.options.pricing ? { usd: costUsd(status.usage, status.options.pricing) } : {}),
      ...reopenedOf(status),
    },
  ];
}

/** A task with subtasks and no commands of its own is a heading: nothing to plan. */
function isGroup(task: TaskSpec, graph: TaskGraph): boolean {
  return task.commands.length === 0 && graph.children(task.id).length > 0;
}

/**
 * The run's task graph, built once per task list (its tasks are all submitted before the first
 * decision, and never change), so that decisions look structure up in O(1) instead of scanning.
 */
const graphs = new WeakMap<readonly string[], { size: number; graph: TaskGraph }>();
function graphOf(status: RunStatus): TaskGraph {
  const known = graphs.get(status.order);
  if (known?.size === status.order.length) return known.graph;
  const graph = taskGraph(status.order.map((id) => status.tasks[id]!.spec));
  graphs.set(status.order, { size: status.order.length, graph });
  return graph;
}
