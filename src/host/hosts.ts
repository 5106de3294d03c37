import * as z from 'zod';
import { actorNames, commandSubjects, type ActorName } from '../events/subjects.ts';
import type { ActorDefinition, Runtime } from '../actors/actor.ts';
import { coordinatorActor } from '../actors/coordinator/actor.ts';
import { decomposerActor } from '../actors/decomposer/actor.ts';
import { executorActor } from '../actors/executor/actor.ts';
import { memoryActor } from '../actors/memory/actor.ts';
import { recovererActor } from '../actors/recoverer/actor.ts';
import { roleOf } from '../security/roles.ts';
import { coordinatorPorts, decomposerPorts, recovererPorts } from './actor-ports.ts';
import { executorPorts } from './executor-ports.ts';
import { runActor } from './run-actor.ts';
import { startSiteBeacon } from './sites.ts';

export type Hosted = { names: ActorName[]; stop(): Promise<void> };

/**
 * Each actor's definition, by its name in `actorNames`, with the ports the host gives it: a new
 * actor is a folder of its own and one line here (the compiler asks for it).
 */
export const ACTOR_DEFINITIONS: { readonly [N in ActorName]: () => ActorDefinition<unknown> } = {
  coordinator: () => coordinatorActor(coordinatorPorts),
  decomposer: () => decomposerActor(decomposerPorts()),
  executor: () => executorActor(executorPorts),
  recoverer: () => recovererActor(recovererPorts),
  memory: () => memoryActor(),
};

/** A test seam: definitions hosted instead of the system's (the benchmark's reference workflow). */
export type ReplacedActors = { readonly [N in ActorName]?: ActorDefinition<unknown> };

/** Starts the named actors in this process; each answers its ping, so `run` can see it is up. */
export async function hostActors(
  rt: Runtime,
  names: readonly ActorName[] = actorNames,
  replaced: ReplacedActors = {},
): Promise<Hosted> {
  // Each actor under its own role where the server tells roles apart (rt.as opens its connection).
  const runtimes = await Promise.all(names.map(async (n) => (await rt.as?.(roleOf(n))) ?? rt));
  const started = await Promise.all(names.map((n, i) => runActor(runtimes[i]!, replaced[n] ?? ACTOR_DEFINITIONS[n]())));
  // A site's executor says so once it takes the site's queue, and keeps saying it while it runs.
  const executorRt = runtimes[names.indexOf('executor')];
  const site = executorRt?.config.site;
  const beacon = site && startSiteBeacon(executorRt, site, executorRt.config.execution.taskConcurrency);
  return {
    names: [...names],
    stop: async () => {
      if (beacon) beacon.stop();
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
