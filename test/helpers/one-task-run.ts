import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import type { StartRun } from '../../src/events/work-commands.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import { evolveRunStatus, initialRunStatus } from '../../src/projections/run-status.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

/**
 * A run of one explicit task (`sleep 1`) as the coordinator folds it: its start, routes, losses
 * and the run status they make, for the pure tests of routing and route attempts.
 */
export const runId = 'r1';
export const [TASK] = parseTasks('- [ ] 1. One\n  ```bash\n  sleep 1\n  ```\n');
export const taskId = TASK!.id;
export const plan = explicitPlan(TASK!);
export const start: StartRun = {
  runId,
  tasksFile: '/w/tasks.md',
  workdir: '/w',
  tasks: [TASK!],
  options: {
    taskConcurrency: 2,
    commandConcurrency: 1,
    continuePolicy: 'dependencies-successful',
    llm: 'offline',
    planAhead: 0,
    skipOptional: false,
  },
};

export const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
export const routed = (site: string, attempt: number) =>
  makeEvent('TaskRouted', { runId, taskId }, { site, attempt, reason: 'least loaded' });
export const lost = (site: string, attempt: number) =>
  makeEvent('TaskAttemptLost', { runId, taskId }, { site, attempt, reason: 'site-dead' });

/** The run status once the task is submitted and planned, then `events`. */
export function statusAfter(events: AgentEvent[]) {
  const { tasksFile, workdir, options } = start;
  const all: AgentEvent[] = [
    makeEvent('RunStarted', { runId }, { tasksFile, workdir, taskIds: [taskId], alreadyDone: [], options }),
    makeEvent('TaskSubmitted', { runId, taskId }, { task: TASK! }),
    makeEvent(
      'PlanCreated',
      { runId, taskId },
      {
        source: 'explicit',
        taskKey: 'k',
        contextChecksum: '',
        specChecksum: '',
        taskText: '',
        plan,
        durationMs: 1,
        inputs: [],
        revision: 0,
      },
    ),
    ...events,
  ];
  return stored(all).reduce(evolveRunStatus, initialRunStatus(runId));
}
