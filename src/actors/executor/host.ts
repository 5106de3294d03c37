import { createActor, fromPromise, toPromise } from 'xstate';
import { makeEvent } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { ack, consumeWork } from '../../nats/work-queue.ts';
import type { Runtime } from '../runtime.ts';
import { executorEffects } from './effects.ts';
import { executorMachine } from './machine.ts';
import { writeMemoryNow } from '../memory/blocking-write.ts';

/** Hosts the executor: takes `execute` work items and records each task's outcome. */
export async function startExecutor(rt: Runtime, options: { parallelTasks?: number } = {}) {
  return consumeWork(rt.js, 'executor', ExecuteTaskSchema, options.parallelTasks ?? rt.config.execution.concurrency, async (item, info) => {
    await executeTask(rt, item, info.redelivered);
    return ack();
  }, (error, subject) => rt.log.error(`work item on ${subject} failed`, error));
}

export async function executeTask(rt: Runtime, item: ExecuteTask, redelivered = false): Promise<void> {
  const { runId, taskId } = item;
  const started = performance.now();
  // A redelivered task (its executor died) resumes: commands whose success is recorded are done.
  const alreadyDone = redelivered ? await recordedSuccesses(rt, runId, taskId) : [];
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
        concurrency: item.concurrency,
        maxRecoveryAttempts: rt.config.recovery.maxAttemptsPerTask,
        alreadyDone,
      },
    },
  );
  actor.start();
  const result = await toPromise(actor);
  await effects.flushed();
  const ids = { runId, taskId };
  const outcome = result.ok
    ? makeEvent('TaskCompleted', { ...ids, id: `${runId}:${taskId}:TaskCompleted` }, {
        durationMs: performance.now() - started,
        commands: result.commands,
        recoveries: result.recoveries,
      })
    : makeEvent('TaskFailed', { ...ids, id: `${runId}:${taskId}:TaskFailed` }, {
        stage: result.stage,
        reason: result.reason,
        ...(result.commandId ? { commandId: result.commandId } : {}),
      });
  const { seq } = await rt.store.append(outcome);
  // The reference workflow wrote memory before moving on; we leave it to the memory actor.
  if (!rt.config.optimizations.backgroundMemory) await writeMemoryNow(rt, { ...outcome, seq });
}

async function recordedSuccesses(rt: Runtime, runId: string, taskId: string): Promise<string[]> {
  const events = await rt.store.read({ subject: eventSubjects.of(runId, taskId, 'CommandFinished') });
  return events.flatMap((e) => (e.type === 'CommandFinished' && e.data.purpose === 'plan' && e.data.exitCode === 0 && !e.data.timedOut ? [e.data.commandId] : []));
}
