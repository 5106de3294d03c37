import { assign, createActor, fromPromise, setup, toPromise, waitFor } from 'xstate';
import { z } from 'zod';
import { ack, retry, type Consumer, type Server } from '../events/bus.ts';
import type { AppendResult } from '../events/event-log.ts';
import { makeEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { commandSubjects } from '../events/subjects.ts';
import { retryPolicies } from '../nats/retry-policies.ts';
import { retryTransient } from '../nats/transient.ts';
import type { ActorDefinition, ActorInputs, ActorIO, Effect, Runtime } from '../actors/actor.ts';
import { staleWork } from './run-control.ts';
import { TasksFile } from '../tasklist/tick-file.ts';

export type RunningActor<R> = { resources: R; stop(): Promise<void> };

type Started<R> = { resources: R; taking: Array<Consumer | Server> };
type LifecycleContext = { started: Started<unknown> | undefined; error: unknown };

/**
 * Every actor's life, whatever it does: open its resources and take its inputs (or fail to, and
 * say why); on `stop`, take no more, let the work in hand finish or hand it back, close.
 */
const lifecycle = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as { type: 'stop' },
  },
  actors: {
    start: fromPromise<Started<unknown>>(async () => {
      throw new Error('runActor provides start');
    }),
    stop: fromPromise<void, Started<unknown> | undefined>(async () => {}),
  },
}).createMachine({
  id: 'actor',
  context: { started: undefined, error: undefined },
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'start',
        onDone: { target: 'serving', actions: assign({ started: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    serving: { on: { stop: 'stopping' } },
    stopping: {
      invoke: {
        src: 'stop',
        input: ({ context }) => context.started,
        onDone: 'stopped',
        onError: { target: 'stopped', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/**
 * Hosts one actor in this process: its inputs (work items or requests), its ping, the effects its
 * core asks for, stale work dropped. Resolves once it takes inputs; rejects if it cannot start.
 */
export async function runActor<R>(rt: Runtime, definition: ActorDefinition<R>): Promise<RunningActor<R>> {
  const stopping = new AbortController();
  const { name, inputs } = definition;

  const start = async (): Promise<Started<R>> => {
    const resources = await definition.open(rt);
    const io = (signal: AbortSignal, redelivered: boolean, lease?: AbortSignal): ActorIO<R> =>
      hostIO(rt, name, resources, signal, redelivered, lease);
    const site = siteOf(rt, inputs);
    // The ping says the actor's shared inputs are taken: `run` hosts the actor itself when none
    // answers. A site's executor takes only its site's queue, so it does not answer it.
    const taking: Array<Consumer | Server> =
      site === undefined
        ? [
            rt.requests.serve(commandSubjects.ping(name), { schema: z.unknown(), onError: () => ({}) }, async () => ({
              actor: name,
              pid: process.pid,
            })),
          ]
        : [];
    if (inputs?.kind === 'work') taking.push(await takeWork(rt, name, inputs, resources, io, site));
    if (inputs?.kind === 'requests') taking.push(takeRequests(rt, name, inputs, () => io(stopping.signal, false)));
    return { resources, taking };
  };

  const stop = async (started: Started<R> | undefined) => {
    if (!started) return;
    await Promise.all(started.taking.map((t) => t.stop()));
    stopping.abort();
    await definition.close?.(started.resources);
  };

  const actor = createActor(
    lifecycle.provide({
      actors: {
        start: fromPromise(async () => (await start()) as Started<unknown>),
        stop: fromPromise(({ input }) => stop(input as Started<R> | undefined)),
      },
    }),
  );
  actor.start();
  const settled = await waitFor(actor, (s) => !s.matches('starting'), { timeout: Infinity });
  if (settled.matches('failed')) throw settled.context.error;
  return {
    resources: settled.context.started!.resources as R,
    stop: async () => {
      actor.send({ type: 'stop' });
      await toPromise(actor);
      const { error } = actor.getSnapshot().context;
      if (error) rt.log.error(`${name}: stopping`, error);
    },
  };
}

type Inputs<R, K extends ActorInputs<R>['kind']> = Extract<ActorInputs<R>, { kind: K }>;

/** The site whose own queue this actor takes instead of the shared one: a site's executor (docs/scaling.md). */
const siteOf = <R>(rt: Runtime, inputs: ActorInputs<R> | undefined): string | undefined =>
  inputs?.kind === 'work' && inputs.actor === 'executor' ? rt.config.site?.name : undefined;

/** Takes work items: a stale one is acknowledged unread, an unfinished one goes back to the queue. */
function takeWork<R>(
  rt: Runtime,
  name: string,
  inputs: Inputs<R, 'work'>,
  resources: R,
  io: (signal: AbortSignal, redelivered: boolean, lease?: AbortSignal) => ActorIO<R>,
  site: string | undefined,
): Promise<Consumer> {
  return rt.work.consume(
    inputs.actor,
    inputs.schema,
    inputs.parallel(rt),
    async (item: unknown, info) => {
      const ref = inputs.run?.(item as never);
      // Both read the log (and observe may ready what the item needs): one round instead of two.
      const [stale, observed] = await Promise.all([
        ref ? staleWork(rt, ref.runId, ref.generation) : undefined,
        inputs.observe?.(item as never, rt, resources),
      ]);
      if (stale) {
        rt.log.info(`${name}: ${info.subject} of run ${ref!.runId} left undone (${stale})`);
        return ack();
      }
      const work = io(info.signal, info.redelivered, info.lease);
      const result = await inputs.handle(item as never, work, observed as never);
      if (result === 'unfinished') return retry(0);
      await work.perform(result);
      await work.flushed();
      return ack();
    },
    (error, subject) => rt.log.error(`${name}: work item on ${subject} failed`, error),
    site,
  );
}

/** Serves requests: the reply is sent once the effects are performed. */
function takeRequests<R>(rt: Runtime, name: string, inputs: Inputs<R, 'requests'>, io: () => ActorIO<R>): Server {
  return rt.requests.serve(
    inputs.subject,
    {
      schema: inputs.schema,
      queue: inputs.queue,
      onError: (error) => {
        rt.log.error(`${name}: request on ${inputs.subject} failed`, error);
        return inputs.replyOnError(error);
      },
    },
    async (request: unknown) => {
      const answering = io();
      const { reply, effects } = await inputs.handle(request as never, answering);
      await answering.perform(effects);
      return reply;
    },
  );
}

/** Effects performed for one input: awaited in order, or in the background. */
function hostIO<R>(
  rt: Runtime,
  name: string,
  resources: R,
  signal: AbortSignal,
  redelivered: boolean,
  lease?: AbortSignal,
): ActorIO<R> {
  let background = Promise.resolve();
  const perform = async (effects: readonly Effect[]): Promise<AppendResult[]> => {
    const results: AppendResult[] = [];
    for (const effect of effects) {
      // Late results of an item another process may hold now are not recorded (at most once per attempt).
      lease?.throwIfAborted();
      results.push(...(await performOne(rt, name, effect, signal)));
    }
    return results;
  };
  return {
    rt,
    resources,
    signal,
    redelivered,
    perform,
    background: (effects) => {
      background = background
        .then(() => perform(effects))
        .then(
          () => undefined,
          (error: unknown) => rt.log.error(`${name}: a background effect failed`, error),
        );
    },
    flushed: () => background,
  };
}

/**
 * One effect under its kind's retry policy (retry-policies.ts), tried at least once even when
 * stopping (an outcome reached just before the stop is still recorded), then again while the
 * failure is transient and the actor runs. The store retries an append itself, under that policy.
 */
async function performOne(rt: Runtime, name: string, effect: Effect, running: AbortSignal): Promise<AppendResult[]> {
  const onRetry = (error: unknown, attempt: number) =>
    rt.log.error(`${name}: ${describe(effect)} failed (try ${attempt + 1}); trying again`, error);
  switch (effect.kind) {
    case 'append':
      return rt.store.appendAll(effect.events, { whileRunning: running, onRetry });
    case 'send':
      await retryTransient(
        () => rt.work.publish(effect.actor, effect.verb, effect.item, effect.id, effect.site),
        retryPolicies.send,
        {
          stopRetrying: running,
          onRetry,
        },
      );
      return [];
    case 'tick': {
      // A write to the user's file, not to NATS: a failure is said and recorded, and the run goes on.
      const failed = await retryTransient(() => tickFile(effect), retryPolicies.tick).then(
        () => undefined,
        (error: unknown) => {
          rt.log.error(`${name}: ${describe(effect)}`, error);
          return (error as Error).message;
        },
      );
      const ticked = effect.tasks.map((t) =>
        makeEvent(
          'TaskTicked',
          { runId: effect.runId, taskId: t.id, id: eventIds.task(effect.runId, t.id, 'TaskTicked') },
          { tasksFile: effect.tasksFile, ...(failed !== undefined ? { failed } : {}) },
        ),
      );
      return rt.store.appendAll(ticked, { whileRunning: running, onRetry });
    }
    default:
      return effect satisfies never;
  }
}

function describe(effect: Effect): string {
  switch (effect.kind) {
    case 'append':
      return `appending ${effect.events.map((e) => e.type).join(', ')}`;
    case 'send':
      return `sending ${effect.verb} to the ${effect.actor} (${effect.id})`;
    case 'tick':
      return `ticking ${effect.tasks.map((t) => t.id).join(', ')} in ${effect.tasksFile}`;
    default:
      return effect satisfies never;
  }
}

/** The task lists this process ticks, each with its line index, and its writes one after the other. */
const tasksFiles = new Map<string, { file: TasksFile; writing: Promise<void> }>();

function tickFile(effect: Extract<Effect, { kind: 'tick' }>): Promise<void> {
  let entry = tasksFiles.get(effect.tasksFile);
  if (!entry)
    tasksFiles.set(effect.tasksFile, (entry = { file: new TasksFile(effect.tasksFile), writing: Promise.resolve() }));
  const done = entry.writing.then(() => entry.file.tick(effect.tasks));
  entry.writing = done.catch(() => undefined);
  return done;
}
