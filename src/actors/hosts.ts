import * as z from 'zod';
import { actorNames, commandSubjects, type ActorName } from '../events/subjects.ts';
import { DEFAULT_ACTOR_OPTIONS, type ActorOptions } from './actor-options.ts';
import type { ActorDefinition } from './actor.ts';
import { coordinatorActor } from './coordinator/definition.ts';
import { decomposerActor } from './decomposer/definition.ts';
import { executorActor } from './executor/definition.ts';
import { memoryActor } from './memory/definition.ts';
import { recovererActor } from './recoverer/definition.ts';
import { roleOf } from '../security/roles.ts';
import { runActor } from './run-actor.ts';
import type { Runtime } from './runtime.ts';

export type Hosted = { names: ActorName[]; stop(): Promise<void> };

/**
 * Each actor's definition, by its name in `actorNames`: a new actor is a folder of its own and
 * one line here (the compiler asks for it). `options` are for the benchmark's reference workflow.
 */
export const ACTOR_DEFINITIONS: { readonly [N in ActorName]: (options: ActorOptions) => ActorDefinition<unknown> } = {
  coordinator: () => coordinatorActor(),
  decomposer: (options) =>
    decomposerActor({ planCache: options.planCache, incrementalContext: options.incrementalContext }),
  executor: (options) => executorActor(options.afterTaskOutcome ? { afterTaskOutcome: options.afterTaskOutcome } : {}),
  recoverer: (options) => recovererActor({ errorPatterns: options.errorPatterns }),
  memory: () => memoryActor(),
};

/**
 * Starts the named actors in this process; each answers its ping, so `run` can see it is up.
 * `options` are for the benchmark's reference workflow; the defaults are the system.
 */
export async function hostActors(
  rt: Runtime,
  names: readonly ActorName[] = actorNames,
  options: ActorOptions = DEFAULT_ACTOR_OPTIONS,
): Promise<Hosted> {
  // Each actor under its own role where the server tells roles apart (rt.as opens its connection).
  const started = await Promise.all(
    names.map(async (n) => runActor((await rt.as?.(roleOf(n))) ?? rt, ACTOR_DEFINITIONS[n](options))),
  );
  return {
    names: [...names],
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}

/** Actors that no process answers for right now. */
export async function missingActors(rt: Runtime, timeoutMs = 300): Promise<ActorName[]> {
  const answers = await Promise.all(
    actorNames.map((n) =>
      rt.requests.request(commandSubjects.ping(n), {}, z.unknown(), timeoutMs).then(
        () => undefined,
        () => n,
      ),
    ),
  );
  return answers.filter((n): n is ActorName => n !== undefined);
}
