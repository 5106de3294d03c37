import { readFile, writeFile } from 'node:fs/promises';
import { createActor, toPromise } from 'xstate';
import { makeEvent, type StoredEvent } from '../../events/agent-events.ts';
import { eventIds, workIds } from '../../events/ids.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { StartRunSchema, type ExecuteTask, type PlanTask, type StartRun } from '../../events/work-commands.ts';
import { ack, consumeWork, publishWork, retry } from '../../nats/work-queue.ts';
import { RUN_STATUS, type RunStatus } from '../../projections/run-status.ts';
import { changedInputs } from '../../context/project-files.ts';
import { tickTask } from '../../spec/tasks-writer.ts';
import type { Runtime } from '../runtime.ts';
import type { Decision } from './decide.ts';
import { coordinatorMachine } from './machine.ts';
import { retryTransient } from '../../nats/transient.ts';

/** Hosts the coordinator: takes StartRun work items and drives each run to RunFinished. */
export async function startCoordinator(rt: Runtime, options: { parallelRuns?: number } = {}) {
  const active = new Set<string>();
  return consumeWork(rt.js, 'coordinator', StartRunSchema, options.parallelRuns ?? 16, async (start, info) => {
    // A resume request for a run this process is already driving: nothing more to do.
    if (active.has(start.runId)) return ack();
    active.add(start.runId);
    try {
      await coordinateRun(rt, start, info.signal);
    } finally {
      active.delete(start.runId);
    }
    return info.signal.aborted ? retry(0) : ack();
  }, (error, subject) => rt.log.error(`work item on ${subject} failed`, error));
}

/**
 * Runs one run to its end. Safe to call again for the same run (after a crash): the events
 * already in the log are replayed into the machine, and only missing work is issued.
 */
export async function coordinateRun(rt: Runtime, start: StartRun, signal: AbortSignal): Promise<void> {
  const runLevel = await rt.store.read({ subject: eventSubjects.runLevel(start.runId) });
  if (!runLevel.some((e) => e.type === 'RunStarted')) await recordStart(rt, start);
  // Interrupted by the user and not resumed since: leave the run alone (decide() issues nothing
  // while a run is interrupted; this coordinator lets go, and `resume` brings one back).
  const lastOf = (type: 'RunInterrupted' | 'RunResumed') => Math.max(0, ...runLevel.filter((e) => e.type === type).map((e) => e.seq));
  if (lastOf('RunInterrupted') > lastOf('RunResumed')) return;
  const knownSeq = Math.max(0, ...runLevel.map((e) => e.seq));
  let pause: () => void = () => {};
  const paused = new Promise<void>((resolve) => (pause = resolve));

  const snapshot = await rt.snapshots.load<RunStatus>(RUN_STATUS.key(start.runId));
  const restored = snapshot?.version === RUN_STATUS.version ? snapshot.state : undefined;
  let chain = Promise.resolve();
  const actor = createActor(
    coordinatorMachine.provide({
      actions: {
        perform: (_, decision: Decision) => {
          chain = chain.then(() => performWithRetry(rt, start, decision, signal, () => actor.getSnapshot().context.status.startedAt));
        },
      },
    }),
    { input: { runId: start.runId, ...(restored ? { status: restored } : {}) } },
  );
  actor.start();
  const saveStatus = () => {
    const status = actor.getSnapshot().context.status;
    return rt.snapshots.save(RUN_STATUS.key(start.runId), { version: RUN_STATUS.version, lastSeq: status.lastSeq, at: new Date().toISOString(), state: status });
  };
  let sinceSave = 0;
  const following = await rt.store.follow(
    { subject: eventSubjects.run(start.runId), from: restored ? restored.lastSeq + 1 : 'start' },
    (event: StoredEvent) => {
      actor.send({ type: 'logged', event });
      // A live interruption (one recorded after this coordinator started) ends its part once the
      // tasks executing have their outcome (and their ticks).
      const status = actor.getSnapshot().context.status;
      if (status.interrupted && event.seq > knownSeq && !Object.values(status.tasks).some((t) => t.state === 'executing')) pause();
      if (++sinceSave >= rt.config.snapshots.everyEvents) {
        sinceSave = 0;
        chain = chain.then(saveStatus).catch((error: unknown) => rt.log.error(`run ${start.runId}: status snapshot`, error));
      }
    },
  );
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([toPromise(actor), aborted, paused]);
  await chain;
  await following.stop();
  await saveStatus().catch((error: unknown) => rt.log.error(`run ${start.runId}: status snapshot`, error));
  actor.stop();
}

/**
 * Decisions are idempotent (deterministic ids), so a failed one (NATS failing over, a leader
 * election) is simply tried again: a decision the machine counts as issued must happen.
 */
async function performWithRetry(
  rt: Runtime,
  start: StartRun,
  decision: Decision,
  signal: AbortSignal,
  startedAt: () => string | undefined,
): Promise<void> {
  // Tried at least once even when stopping (a tick issued just before the stop still happens),
  // then again on any failure until it succeeds or the coordinator stops.
  await retryTransient(() => perform(rt, start, decision, startedAt()), {
    budgetMs: Infinity,
    retryable: () => !signal.aborted,
    onRetry: (error, attempt) => rt.log.error(`run ${start.runId}: ${decision.kind} ${'taskId' in decision ? decision.taskId : ''} failed (try ${attempt + 1}); trying again`, error),
  }).catch((error: unknown) => rt.log.error(`run ${start.runId}: ${decision.kind} given up as the coordinator stops`, error));
}

async function recordStart(rt: Runtime, start: StartRun): Promise<void> {
  const { runId, options } = start;
  const pending = start.tasks.filter((t) => !t.done);
  // One round of appends, in order: the run, then its tasks.
  await rt.store.appendAll([
    makeEvent('RunStarted', { runId, id: eventIds.run(runId, 'RunStarted') }, {
      tasksFile: start.tasksFile,
      workdir: start.workdir,
      taskIds: pending.map((t) => t.id),
      alreadyDone: start.tasks.filter((t) => t.done).map((t) => t.id),
      taskConcurrency: options.taskConcurrency,
      commandConcurrency: options.commandConcurrency,
      continuePolicy: options.continuePolicy,
      llm: options.llm,
      planAhead: options.planAhead,
      skipOptional: options.skipOptional,
    }),
    ...pending.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id, id: eventIds.task(runId, task.id, 'TaskSubmitted') }, { task })),
  ]);
}

async function perform(rt: Runtime, start: StartRun, decision: Decision, startedAt: string | undefined): Promise<void> {
  const { runId } = start;
  switch (decision.kind) {
    case 'plan': {
      const task = start.tasks.find((t) => t.id === decision.taskId)!;
      const item: PlanTask = {
        runId,
        workdir: start.workdir,
        tasksFile: start.tasksFile,
        task,
        group: decision.group,
        llm: start.options.llm,
        generation: decision.generation,
        revision: decision.revision,
        ...(startedAt ? { runStartedAt: startedAt } : {}),
      };
      await publishWork(rt.js, 'decomposer', 'plan', item, workIds.plan(runId, task.id, decision.generation, decision.revision));
      return;
    }
    case 'execute': {
      // Planned ahead while earlier tasks ran: if they changed a file this plan was made from,
      // the plan is out of date. Plan again (recorded) instead of running it.
      const changed = await changedInputs(start.workdir, decision.planInputs);
      if (changed.length > 0) {
        const revision = decision.revision + 1;
        await rt.store.append(
          makeEvent('PlanInvalidated', { runId, taskId: decision.taskId, id: eventIds.planInvalidated(runId, decision.taskId, revision) }, {
            revision,
            changed,
            reason: `${changed.map((c) => c.path).join(', ')} changed after the plan was made`,
          }),
        );
        return;
      }
      const item: ExecuteTask = {
        runId,
        taskId: decision.taskId,
        workdir: start.workdir,
        plan: decision.plan,
        planEventId: decision.planEventId,
        llm: start.options.llm,
        commandConcurrency: start.options.commandConcurrency,
        generation: decision.generation,
      };
      await publishWork(rt.js, 'executor', 'execute', item, workIds.execute(runId, decision.taskId, decision.generation, decision.revision));
      return;
    }
    case 'skip':
      await rt.store.append(
        makeEvent('TaskSkipped', { runId, taskId: decision.taskId, id: eventIds.task(runId, decision.taskId, 'TaskSkipped') }, { reason: decision.reason, optional: decision.optional }),
      );
      return;
    case 'tick': {
      const text = await readFile(start.tasksFile, 'utf8');
      const line = start.tasks.find((t) => t.id === decision.taskId)?.line;
      const next = tickTask(text, decision.taskId, line);
      if (next !== text) await writeFile(start.tasksFile, next);
      return;
    }
    case 'finish': {
      await rt.store.append(
        makeEvent('RunFinished', { runId, id: eventIds.run(runId, 'RunFinished') }, {
          status: decision.status,
          completed: decision.completed,
          failed: decision.failed,
          skipped: decision.skipped,
          durationMs: Math.max(0, Date.now() - Date.parse(decision.startedAt)),
        }),
      );
      return;
    }
    default: {
      const never: never = decision;
      return never;
    }
  }
}
