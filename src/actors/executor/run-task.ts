import { createActor, fromPromise, toPromise } from 'xstate';
import type { ExecuteTask } from '../../events/work-commands.ts';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { commitMessage } from '../../workspace/commit-message.ts';
import { commitPaths } from '../../workspace/git.ts';
import type { ActorIO } from '../actor.ts';
import { executorMachine } from './machine.ts';
import type { ResumePoint } from './resume.ts';
import type { executorEffects, Executing } from './task-io.ts';
import type { ExecutorOutput } from './types.ts';

/** The task's command graph run by the executor machine with these effects, to its output. */
export async function runTaskMachine(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  effects: ReturnType<typeof executorEffects>,
  resume: ResumePoint | undefined,
): Promise<ExecutorOutput> {
  const actor = createActor(
    executorMachine.provide({
      actors: {
        runCommand: fromPromise(({ input }) => effects.runCommand(input)),
        evaluateDecision: fromPromise(({ input }) => effects.evaluateDecision(input)),
        recover: fromPromise(({ input }) => effects.recover(input)),
        runFix: fromPromise(({ input }) => effects.runFix(input)),
        confirmBenign: fromPromise(({ input }) => effects.confirmBenign(input)),
        verify: fromPromise(({ input }) => effects.verify(input)),
      },
      actions: { recordRecovery: (_, record) => effects.recordRecovery(record) },
    }),
    {
      input: {
        plan: item.plan,
        deps: buildCommandGraph(item.plan.commands).deps,
        commandConcurrency: item.commandConcurrency,
        maxRecoveryAttempts: io.rt.config.recovery.maxAttemptsPerTask,
        ...(resume ? { resume } : {}),
      },
    },
  );
  actor.start();
  return toPromise(actor);
}

/** The task's files in one commit (`--commit`); a failure to commit is said and leaves the task completed. */
export async function commitTask(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  paths: string[],
): Promise<string | undefined> {
  try {
    return await commitPaths(item.workdir, paths, commitMessage(item));
  } catch (error) {
    io.rt.log.warn(`task ${item.taskId}: not committed: ${(error as Error).message}`);
    return undefined;
  }
}
