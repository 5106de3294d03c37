import { createActor, fromPromise, toPromise } from 'xstate';
import { isTaskTerminal, makeEvent } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { hostname } from 'node:os';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { killOrphanGroup } from '../../exec/run-command.ts';
import { staleWork } from '../run-control.ts';
import { resumePoint } from './resume.ts';
import { ack, consumeWork } from '../../nats/work-queue.ts';
import type { Runtime } from '../runtime.ts';
import { executorEffects } from './effects.ts';
import { executorMachine } from './machine.ts';
import { eventIds } from '../../events/ids.ts';
import type { ActorOptions } from '../actor-options.ts';

/** Hosts the executor: takes `execute` work items and records each task's outcome. */
export async function startExecutor(rt: Runtime, options: { parallelTasks?: number; afterTaskOutcome?: ActorOptions['afterTaskOutcome'] } = {}) {
  return consumeWork(rt.js, 'executor', ExecuteTaskSchema, options.parallelTasks ?? rt.config.execution.taskConcurrency, async (item) => {
    await executeTask(rt, item, options.afterTaskOutcome);
    return ack();
  }, (error, subject) => rt.log.error(`work item on ${subject} failed`, error));
}

export async function executeTask(rt: Runtime, item: ExecuteTask, afterTaskOutcome?: ActorOptions['afterTaskOutcome']): Promise<void> {
  const { runId, taskId } = item;
  const started = performance.now();
  // The log decides where this execution starts: a task with an outcome is never run again, and
  // one whose executor died resumes after its recorded results.
  const [recorded, stale] = await Promise.all([rt.store.read({ subject: eventSubjects.task(runId, taskId) }), staleWork(rt, runId, item.generation)]);
  if (recorded.some(isTaskTerminal) || stale) {
    rt.log.info(`task ${taskId} of run ${runId}: not running it (${stale ?? 'it already has an outcome'})`);
    return;
  }
  const resume = recorded.length > 0 ? resumePoint(recorded, hostname()) : undefined;
  for (const pgid of resume?.orphans ?? []) killOrphanGroup(pgid);
  const graph = buildCommandGraph(item.plan.commands);
  const effects = executorEffects(rt, item);
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
  await effects.flushed();
  const ids = { runId, taskId };
  const outcome = result.ok
    ? makeEvent('TaskCompleted', { ...ids, id: eventIds.task(runId, taskId, 'TaskCompleted') }, {
        durationMs: performance.now() - started,
        commands: result.commands,
        recoveries: result.recoveries,
      })
    : makeEvent('TaskFailed', { ...ids, id: eventIds.task(runId, taskId, 'TaskFailed') }, {
        stage: result.stage,
        reason: result.reason,
        ...(result.commandId ? { commandId: result.commandId } : {}),
      });
  const { seq } = await rt.store.append(outcome);
  await afterTaskOutcome?.(rt, { ...outcome, seq });
}

