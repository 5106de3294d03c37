import { encodeJson } from '../events/codec.ts';
import { actorNames, commandSubjects, type ActorName } from '../events/subjects.ts';
import { startCoordinator } from './coordinator/host.ts';
import { startDecomposer } from './decomposer/host.ts';
import { startExecutor } from './executor/host.ts';
import { startMemory } from './memory/host.ts';
import { DEFAULT_ACTOR_OPTIONS, type ActorOptions } from './actor-options.ts';
import { startRecoverer } from './recoverer/host.ts';
import type { Runtime } from './runtime.ts';

export type Hosted = { names: ActorName[]; stop(): Promise<void> };

async function startOne(rt: Runtime, name: ActorName, options: ActorOptions): Promise<{ stop(): Promise<void> }> {
  switch (name) {
    case 'coordinator':
      return startCoordinator(rt);
    case 'decomposer':
      return startDecomposer(rt, { planCache: options.planCache, incrementalContext: options.incrementalContext });
    case 'executor':
      return startExecutor(rt, options.afterTaskOutcome ? { afterTaskOutcome: options.afterTaskOutcome } : {});
    case 'recoverer':
      return startRecoverer(rt, { errorPatterns: options.errorPatterns });
    case 'memory':
      return startMemory(rt);
    default: {
      const never: never = name;
      return never;
    }
  }
}

/**
 * Starts the named actors in this process, each answering pings so `run` can see it is up.
 * `options` are for the benchmark's reference workflow; the defaults are the system.
 */
export async function hostActors(rt: Runtime, names: readonly ActorName[] = actorNames, options: ActorOptions = DEFAULT_ACTOR_OPTIONS): Promise<Hosted> {
  const started = await Promise.all(names.map((n) => startOne(rt, n, options)));
  const pings = names.map((n) => rt.nc.subscribe(commandSubjects.ping(n), {
      callback: (_, m) => {
        m.respond(encodeJson({ actor: n, pid: process.pid }));
      },
    }));
  return {
    names: [...names],
    stop: async () => {
      for (const p of pings) p.unsubscribe();
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}

/** Actors that no process answers for right now. */
export async function missingActors(rt: Runtime, timeoutMs = 300): Promise<ActorName[]> {
  const answers = await Promise.all(
    actorNames.map((n) =>
      rt.nc.request(commandSubjects.ping(n), encodeJson({}), { timeout: timeoutMs }).then(
        () => undefined,
        () => n,
      ),
    ),
  );
  return answers.filter((n): n is ActorName => n !== undefined);
}
