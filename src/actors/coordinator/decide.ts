import { decisionKeys } from '../../events/ids.ts';
import type { Plan, PlanInput } from '../../plan/plan-schema.ts';
import type { RunStatus, TaskStatus } from '../../projections/run-status.ts';
import { budgetSpent } from '../../projections/llm-usage.ts';
import { blockersIn, taskGraph, type Blocker, type TaskGraph } from '../../spec/task-graph.ts';
import type { TaskSpec } from '../../spec/task-spec.ts';

/** What the coordinator does next. `key` makes each decision happen once per run. */
export type Decision =
  | { kind: 'plan'; key: string; taskId: string; group: boolean; generation: number; revision: number }
  | {
      kind: 'execute';
      key: string;
      taskId: string;
      plan: Plan;
      planEventId: string;
      /** Checked before the work goes out: a changed input means plan again. */
      planInputs: PlanInput[];
      revision: number;
      generation: number;
    }
  /**
   * A plan made ahead, checked again as soon as another task finished (which may have written a
   * file it was made from): a changed input means plan again now, while other tasks run, instead
   * of when the task is about to start.
   */
  | { kind: 'revalidate'; key: string; taskId: string; planInputs: PlanInput[]; revision: number }
  | { kind: 'skip'; key: string; taskId: string; reason: string; optional: boolean }
  | { kind: 'tick'; key: string; taskId: string }
  /** The LLM budget is spent and nothing else can move: the run stops until `resume --budget`. */
  | { kind: 'halt'; key: string; reason: string; generation: number }
  | {
      kind: 'finish';
      key: string;
      status: 'succeeded' | 'failed';
      completed: string[];
      failed: string[];
      skipped: string[];
      startedAt: string;
    };

type Outcome = 'done' | 'dead' | 'waiting';

/**
 * The coordinator's policy as a pure function of the run's events (folded into `status`) and the
 * decisions already issued: which tasks to plan, execute, skip or tick, and when the run is over.
 */
export function decide(status: RunStatus, issued: ReadonlySet<string>): Decision[] {
  if (!status.started || status.finished) return [];
  if (status.taskIds.some((id) => !status.tasks[id])) return [];
  const decisions: Decision[] = [];
  const graph = graphOf(status);
  const own = (id: string): Outcome => {
    if (status.alreadyDone.includes(id)) return 'done';
    const task = status.tasks[id];
    if (task?.state === 'completed' || (task?.state === 'skipped' && task.skippedByChoice)) return 'done';
    return task?.state === 'failed' || task?.state === 'skipped' ? 'dead' : 'waiting';
  };
  const full = (id: string): Outcome => {
    const outcomes = [own(id), ...graph.children(id).map((c) => full(c.id))];
    return outcomes.includes('dead') ? 'dead' : outcomes.includes('waiting') ? 'waiting' : 'done';
  };
  const outcomeOf = (b: Blocker) => (b.need === 'own' ? own(b.id) : full(b.id));
  /** `full(id) === 'done'`, stopping at the first task not done. */
  const fullyDone = (id: string): boolean => own(id) === 'done' && graph.children(id).every((c) => fullyDone(c.id));
  /** Every blocker done (when none can be dead): `blockersIn` without building it. */
  const isReady = (spec: TaskSpec): boolean => {
    if (spec.depends !== undefined) {
      if (!spec.depends.every(fullyDone)) return false;
    } else {
      const previous = graph.previousSibling(spec);
      if (previous && !fullyDone(previous.id)) return false;
    }
    return spec.parentId === undefined || own(spec.parentId) === 'done';
  };

  const ticks = () =>
    status.order
      // A task completed without evidence (a fix replaced its command, no criterion checked it) stays unticked.
      .filter((id) => !issued.has(decisionKeys.tick(id)) && status.tasks[id]!.state !== 'skipped' && status.tasks[id]!.evidence !== 'none' && fullyDone(id))
      .map((id): Decision => ({ kind: 'tick', key: decisionKeys.tick(id), taskId: id }));
  // Interrupted: nothing new starts, but a task that finishes in the meantime is still ticked.
  if (status.interrupted) return ticks();

  // Work keys carry the resume generation (after a resume, work cut short is issued anew) and
  // the plan revision (a plan invalidated before its task started is made again).
  const planKey = (id: string) => decisionKeys.plan(id, status.generation, status.tasks[id]!.revision);
  const execKey = (id: string) => decisionKeys.execute(id, status.generation, status.tasks[id]!.revision);
  // One pass over the run for what is under way (each count a scan of its own made every event cost several passes).
  let executing = 0;
  let planning = 0;
  let planned = 0;
  let finished = 0;
  let anyFailed = false;
  let anyDead = false;
  for (const id of status.order) {
    const { state, skippedByChoice } = status.tasks[id]!;
    if (state === 'executing' || (state === 'planned' && issued.has(execKey(id)))) executing++;
    if (state === 'pending' && issued.has(planKey(id))) planning++;
    if (state === 'planned' || state === 'executing') planned++;
    if (state === 'completed' || state === 'failed') finished++;
    if (state === 'failed') anyFailed = true;
    if (state === 'failed' || (state === 'skipped' && !skippedByChoice)) anyDead = true;
  }
  // Without planning ahead, a task is planned only when it may start, within the task concurrency.
  let inFlight = planned + planning;
  // Once the budget is spent, a task that needs the LLM to be planned is held, not failed, so
  // that a resume with a larger budget plans it; everything else goes on.
  const spent = budgetSpent(status.usage, status.budget, status.pricing);
  const held: string[] = [];

  for (const id of status.order) {
    const task = status.tasks[id]!;
    if ((task.state !== 'pending' && task.state !== 'planned') || issued.has(decisionKeys.skip(id))) continue;
    const skip = (reason: string, optional = false) => decisions.push({ kind: 'skip', key: decisionKeys.skip(id), taskId: id, reason, optional });
    if (status.continuePolicy === 'never' && anyFailed) {
      skip('an earlier task failed (continue policy: never)');
      continue;
    }
    if (task.spec.optional && status.skipOptional) {
      skip('optional task ([ ]*), skipped by --skip-optional', true);
      continue;
    }
    let ready: boolean;
    if (anyDead) {
      const blockers = blockersIn(graph, task.spec).map((b) => ({ ...b, outcome: outcomeOf(b) }));
      const dead = blockers.find((b) => b.outcome === 'dead');
      if (dead && status.continuePolicy !== 'always') {
        skip(`task ${dead.id} did not complete`);
        continue;
      }
      ready = !blockers.some((b) => b.outcome === 'waiting');
    } else {
      // Nothing failed or was skipped, so nothing is skipped now: a task that can get no decision
      // (no room for its next step, or already issued) needs no further look, and a task's
      // readiness is read without building its blockers. This keeps a long run's decisions cheap.
      if (task.state === 'planned' && (issued.has(execKey(id)) || executing >= status.taskConcurrency)) continue;
      if (task.state === 'pending' && (issued.has(planKey(id)) || (status.planAhead > 0 && planning >= status.planAhead))) continue;
      ready = isReady(task.spec);
    }

    if (task.state === 'planned') {
      if (!issued.has(execKey(id)) && ready && task.plan && task.planEventId && executing < status.taskConcurrency) {
        executing++;
        decisions.push({
          kind: 'execute',
          key: execKey(id),
          taskId: id,
          plan: task.plan,
          planEventId: task.planEventId,
          planInputs: task.started ? [] : (task.planInputs ?? []),
          revision: task.revision,
          generation: status.generation,
        });
      }
      continue;
    }
    if (issued.has(planKey(id))) continue;
    if (spent && task.spec.commands.length === 0 && !isGroup(task.spec, graph)) {
      held.push(id);
      continue;
    }
    const mayPlan = status.planAhead > 0 ? planning < status.planAhead : ready && inFlight < status.taskConcurrency;
    if (!mayPlan) continue;
    planning++;
    inFlight++;
    decisions.push({ kind: 'plan', key: planKey(id), taskId: id, group: isGroup(task.spec, graph), generation: status.generation, revision: task.revision });
  }

  // Each task that finished may have changed what a plan made ahead was made from.
  for (const id of status.order) {
    const task = status.tasks[id]!;
    if (task.state !== 'planned' || task.started || !task.planInputs?.length || issued.has(execKey(id))) continue;
    if (decisions.some((d) => d.kind === 'execute' && d.taskId === id)) continue;
    const key = decisionKeys.revalidate(id, status.generation, task.revision, finished);
    if (finished > 0 && !issued.has(key)) decisions.push({ kind: 'revalidate', key, taskId: id, planInputs: task.planInputs, revision: task.revision });
  }

  decisions.push(...ticks());

  const terminal = status.order.every((id) => own(id) !== 'waiting');
  const pendingDecisions = decisions.some((d) => d.kind !== 'tick' && d.kind !== 'revalidate');
  const haltKey = decisionKeys.halt(status.generation);
  if (spent && held.length > 0 && !pendingDecisions && executing === 0 && planning === 0 && !issued.has(haltKey)) {
    decisions.push({ kind: 'halt', key: haltKey, reason: `${spent}; waiting for the LLM: task(s) ${held.join(', ')}`, generation: status.generation });
  }
  if (terminal && !pendingDecisions && !issued.has(decisionKeys.finish())) {
    const pick = (f: (t: TaskStatus) => boolean) => status.order.filter((id) => f(status.tasks[id]!));
    const failed = pick((t) => t.state === 'failed');
    const skipped = pick((t) => t.state === 'skipped');
    const skippedAgainstWill = pick((t) => t.state === 'skipped' && !t.skippedByChoice);
    decisions.push({
      kind: 'finish',
      key: decisionKeys.finish(),
      status: failed.length === 0 && skippedAgainstWill.length === 0 ? 'succeeded' : 'failed',
      completed: pick((t) => t.state === 'completed'),
      failed,
      skipped,
      startedAt: status.startedAt ?? new Date().toISOString(),
    });
  }
  return decisions;
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
