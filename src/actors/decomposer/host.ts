import { createActor, toPromise } from 'xstate';
import { makeEvent } from '../../events/agent-events.ts';
import { PlanTaskSchema, type PlanTask } from '../../events/work-commands.ts';
import { ack, consumeWork } from '../../nats/work-queue.ts';
import { taskText, taskKey } from '../../plan/task-key.ts';
import type { Runtime } from '../runtime.ts';
import { decomposerMachine } from './machine.ts';

/** Hosts the decomposer: takes `plan` work items and records PlanCreated or TaskFailed. */
export async function startDecomposer(rt: Runtime, options: { parallel?: number } = {}) {
  return consumeWork(rt.js, 'decomposer', PlanTaskSchema, options.parallel ?? 8, async (item) => {
    await planTask(rt, item);
    return ack();
  }, (error, subject) => rt.log.error(`work item on ${subject} failed`, error));
}

export async function planTask(rt: Runtime, item: PlanTask): Promise<void> {
  const started = performance.now();
  const { runId, task } = item;
  const contextChecksum = '';
  const actor = createActor(decomposerMachine, { input: { task, group: item.group, llm: item.llm } });
  actor.start();
  const result = await toPromise(actor);
  const ids = { runId, taskId: task.id };
  if (result.ok) {
    await rt.store.append(
      makeEvent('PlanCreated', { ...ids, id: `${runId}:${task.id}:PlanCreated` }, {
        source: result.source,
        ...(result.strategy ? { strategy: result.strategy } : {}),
        taskKey: taskKey(task, contextChecksum),
        contextChecksum,
        taskText: taskText(task),
        plan: result.plan,
        durationMs: performance.now() - started,
      }),
    );
  } else {
    await rt.store.append(makeEvent('TaskFailed', { ...ids, id: `${runId}:${task.id}:TaskFailed` }, { stage: 'planning', reason: result.reason }));
  }
}
