import { z } from 'zod';
import { actorNames, commandSubjects, type ActorName } from '../events/subjects.ts';
import { DEFAULT_ACTOR_OPTIONS, type ActorOptions } from './actor-options.ts';
import type { ActorDefinition } from './actor.ts';
import { coordinatorActor } from './coordinator/host.ts';
import { decomposerActor } from './decomposer/host.ts';
import { executorActor } from './executor/host.ts';
import { memoryActor } from './memory/host.ts';
import { recovererActor } from './recoverer/host.ts';
import { runActor } from './run-actor.ts';
import type { Runtime } from './runtime.ts';

export type Hosted = { names: ActorName[]; stop(): Promise<void> };

/** Each actor's definition, by name. `options` are for the benchmark's reference workflow. */
function definitionOf(name: ActorName, options: ActorOptions): ActorDefinition<unknown> {
  switch (name) {
    case 'coordinator':
      return coordinatorActor();
    case 'decomposer':
      return decomposerActor({ planCache: options.planCache, incrementalContext: options.incrementalContext });
    case 'executor':
      return executorActor(options.afterTaskOutcome ? { afterTaskOutcome: options.afterTaskOutcome } : {});
    case 'recoverer':
      return recovererActor({ errorPatterns: options.errorPatterns });
    case 'memory':
      return memoryActor();
    default: {
      const never: never = name;
      return never;
    }
  }
}

/**
 * Starts the named actors in this process; each answers its ping, so `run` can see it is up.
 * `options` are for the benchmark's reference workflow; the defaults are the system.
 */
export async function hostActors(
  rt: Runtime,
  names: readonly ActorName[] = actorNames,
  options: ActorOptions = DEFAULT_ACTOR_OPTIONS,
): Promise<Hosted> {
  const started = await Promise.all(names.map((n) => runActor(rt, definitionOf(n, options))));
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
