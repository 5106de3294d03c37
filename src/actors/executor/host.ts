import { hostname } from 'node:os';
import { createActor, fromPromise, toPromise } from 'xstate';
import { isTaskTerminal } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { killOrphanGroup } from '../../exec/run-command.ts';
import { resolveConfinement, type Confinement } from '../../exec/sandbox.ts';
import type { ActorOptions } from '../actor-options.ts';
import { append, workInputs, type ActorDefinition, type ActorIO } from '../actor.ts';
import { runActor } from '../run-actor.ts';
import type { Runtime } from '../runtime.ts';
import { executorEffects, type Executing } from './effects.ts';
import { taskOutcome } from './events.ts';
import { executorMachine } from './machine.ts';
import { resumePoint } from './resume.ts';

export type ExecutorActorOptions = { parallelTasks?: number; afterTaskOutcome?: ActorOptions['afterTaskOutcome'] };

/** The executor: takes `execute` work items, runs each task's command graph, records its outcome. */
export const executorActor = (options: ExecutorActorOptions = {}): ActorDefinition<Executing> => ({
  name: 'executor',
  open: async (rt) => {
    let confinement: Promise<Confinement> | undefined;
    return { confinement: () => (confinement ??= resolveConfinement(rt.config, (m) => rt.log.warn(m))) };
  },
  inputs: workInputs({
    actor: 'executor',
    schema: ExecuteTaskSchema,
    parallel: (rt) => options.parallelTasks ?? rt.config.execution.taskConcurrency,
    run: (item) => item,
    handle: async (item, io: ActorIO<Executing>) => {
      await executeTask(io, item, options.afterTaskOutcome);
      return [];
    },
  }),
});

export const startExecutor = (rt: Runtime, options: ExecutorActorOptions = {}) => runActor(rt, executorActor(options));

async function executeTask(io: ActorIO<Executing>, item: ExecuteTask, afterTaskOutcome?: ActorOptions['afterTaskOutcome']): Promise<void> {
  const { rt } = io;
  const { runId, taskId } = item;
  const started = performance.now();
  // The log decides where this execution starts: a task with an outcome is never run again, and
  // one whose executor died resumes after its recorded results.
  const recorded = await rt.store.read({ subject: eventSubjects.task(runId, taskId) });
  if (recorded.some(isTaskTerminal)) {
    rt.log.info(`task ${taskId} of run ${runId}: not running it (it already has an outcome)`);
    return;
  }
  const resume = recorded.length > 0 ? resumePoint(recorded, hostname()) : undefined;
  for (const pgid of resume?.orphans ?? []) killOrphanGroup(pgid);
  const graph = buildCommandGraph(item.plan.commands);
  const effects = executorEffects(io, item);
  const actor = createActor(
    executorMachine.provide({
      actors: {
        runCommand: fromPromise(({ input }) => effects.runCommand(input)),
        evaluateDecision: fromPromise(({ input }) => effects.evaluateDecision(input)),
        recover: fromPromise(({ input }) => effects.recover(input)),
        runFix: fromPromise(({ input }) => effects.runFix(input)),
        verify: fromPromise(({ input }) => effects.verify(input)),
      },
      actions: { recordRecovery: (_, record) => effects.recordRecovery(record) },
    }),
    {
      input: {
        plan: item.plan,
        deps: graph.deps,
        commandConcurrency: item.commandConcurrency,
        maxRecoveryAttempts: rt.config.recovery.maxAttemptsPerTask,
        ...(resume ? { resume } : {}),
      },
    },
  );
  actor.start();
  const result = await toPromise(actor);
  // Recovery outcomes first: the log tells a task's story in order.
  await io.flushed();
  const outcome = taskOutcome(item, result, performance.now() - started);
  const [recordedAs] = await io.perform([append(outcome)]);
  await afterTaskOutcome?.(rt, { ...outcome, seq: recordedAs!.seq });
}
