import type { Plan } from '../../plan/plan-schema.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import { blockersOf, childrenOf, type Blocker } from '../../spec/task-graph.ts';
import type { TaskSpec } from '../../spec/task-spec.ts';

/** What the coordinator does next. `key` makes each decision happen once per run. */
export type Decision =
  | { kind: 'plan'; key: string; taskId: string; group: boolean; generation: number }
  | { kind: 'execute'; key: string; taskId: string; plan: Plan; planEventId: string; generation: number }
  | { kind: 'skip'; key: string; taskId: string; reason: string }
  | { kind: 'tick'; key: string; taskId: string }
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
  if (!status.started || status.finished || status.interrupted) return [];
  if (status.taskIds.some((id) => !status.tasks[id])) return [];
  const decisions: Decision[] = [];
  const specs = status.order.map((id) => status.tasks[id]!.spec);
  const own = (id: string): Outcome => {
    if (status.alreadyDone.includes(id)) return 'done';
    const state = status.tasks[id]?.state;
    return state === 'completed' ? 'done' : state === 'failed' || state === 'skipped' ? 'dead' : 'waiting';
  };
  const full = (id: string): Outcome => {
    const outcomes = [own(id), ...childrenOf(id, specs).map((c) => full(c.id))];
    return outcomes.includes('dead') ? 'dead' : outcomes.includes('waiting') ? 'waiting' : 'done';
  };
  const outcomeOf = (b: Blocker) => (b.need === 'own' ? own(b.id) : full(b.id));
  const anyFailed = status.order.some((id) => status.tasks[id]!.state === 'failed');

  // Work keys carry the resume generation: after a resume, work cut short is issued anew.
  const planKey = (id: string) => `plan:${id}:g${status.generation}`;
  const execKey = (id: string) => `exec:${id}:g${status.generation}`;
  let inFlight = status.order.filter((id) => {
    const t = status.tasks[id]!;
    return t.state === 'planned' || t.state === 'executing' || (t.state === 'pending' && issued.has(planKey(id)));
  }).length;

  for (const id of status.order) {
    const task = status.tasks[id]!;
    if (task.state === 'planned' && task.plan && task.planEventId && !issued.has(execKey(id))) {
      decisions.push({ kind: 'execute', key: execKey(id), taskId: id, plan: task.plan, planEventId: task.planEventId, generation: status.generation });
    }
    if (task.state !== 'pending' || issued.has(planKey(id)) || issued.has(`skip:${id}`)) continue;
    if (status.continuePolicy === 'never' && anyFailed) {
      decisions.push({ kind: 'skip', key: `skip:${id}`, taskId: id, reason: 'an earlier task failed (continue policy: never)' });
      continue;
    }
    const blockers = blockersOf(task.spec, specs).map((b) => ({ ...b, outcome: outcomeOf(b) }));
    const dead = blockers.find((b) => b.outcome === 'dead');
    if (dead && status.continuePolicy !== 'always') {
      decisions.push({ kind: 'skip', key: `skip:${id}`, taskId: id, reason: `task ${dead.id} did not complete` });
      continue;
    }
    if (blockers.some((b) => b.outcome === 'waiting')) continue;
    if (inFlight >= status.concurrency) continue;
    inFlight++;
    decisions.push({ kind: 'plan', key: planKey(id), taskId: id, group: isGroup(task.spec, specs), generation: status.generation });
  }

  for (const id of status.order) {
    if (full(id) === 'done' && !issued.has(`tick:${id}`)) decisions.push({ kind: 'tick', key: `tick:${id}`, taskId: id });
  }

  const terminal = status.order.every((id) => own(id) !== 'waiting');
  const pendingDecisions = decisions.some((d) => d.kind !== 'tick');
  if (terminal && !pendingDecisions && !issued.has('finish')) {
    const pick = (state: string) => status.order.filter((id) => status.tasks[id]!.state === state);
    const failed = pick('failed');
    const skipped = pick('skipped');
    decisions.push({
      kind: 'finish',
      key: 'finish',
      status: failed.length === 0 && skipped.length === 0 ? 'succeeded' : 'failed',
      completed: pick('completed'),
      failed,
      skipped,
      startedAt: status.startedAt ?? new Date().toISOString(),
    });
  }
  return decisions;
}

/** A task with subtasks and no commands of its own is a heading: nothing to plan. */
function isGroup(task: TaskSpec, specs: readonly TaskSpec[]): boolean {
  return task.commands.length === 0 && childrenOf(task.id, specs).length > 0;
}
