import { createActor, fromPromise, toPromise } from 'xstate';
import type { ExecuteTask } from '../../events/work-commands.ts';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { executorMachine } from './machine.ts';
import type { TaskActivities } from './ports.ts';
import type { ResumePoint } from './state.ts';
import type { ExecutorOutput } from './types.ts';

/** The task's command graph run by the executor machine on these activities, to its output. */
export async function runTaskMachine(
  activities: TaskActivities,
  item: ExecuteTask,
  maxRecoveryAttempts: number,
  resume: ResumePoint | undefined,
): Promise<ExecutorOutput> {
  const actor = createActor(
    executorMachine.provide({
      actors: {
        runCommand: fromPromise(({ input }) => activities.runCommand(input)),
        evaluateDecision: fromPromise(({ input }) => activities.evaluateDecision(input)),
        recover: fromPromise(({ input }) => activities.recover(input)),
        runFix: fromPromise(({ input }) => activities.runFix(input)),
        confirmBenign: fromPromise(({ input }) => activities.confirmBenign(input)),
        verify: fromPromise(({ input }) => activities.verify(input)),
      },
      actions: { recordRecovery: (_, record) => activities.recordRecovery(record) },
    }),
    {
      input: {
        plan: item.plan,
        deps: buildCommandGraph(item.plan.commands).deps,
        commandConcurrency: item.commandConcurrency,
        maxRecoveryAttempts,
        ...(resume ? { resume } : {}),
      },
    },
  );
  actor.start();
  return toPromise(actor);
}
