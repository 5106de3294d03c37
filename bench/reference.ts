import { decomposerActor } from '../src/actors/decomposer/actor.ts';
import { executorActor } from '../src/actors/executor/actor.ts';
import { executorPorts } from '../src/host/executor-ports.ts';
import { recovererActor } from '../src/actors/recoverer/actor.ts';
import { decomposerPorts, recovererPorts } from '../src/host/actor-ports.ts';
import type { ReplacedActors } from '../src/host/hosts.ts';
import type { ConfigOverrides } from '../src/config.ts';
import { writeMemoryNow } from './reference-memory.ts';

/**
 * The two systems the benchmark runs side by side on the same task list: the reference workflow
 * this project replaces (five planning calls in a row, one task and one command at a time, no
 * plan cache, context reloaded per task, the LLM for every failure, memory written before the
 * next task) and the system as it ships; beside it, the same with every task in the shared folder
 * (`execution.isolation: "shared"`), to show what the tasks' own views cost in the same run.
 */
export const SYSTEMS: Record<
  'reference' | 'optimized' | 'optimized, shared',
  { flags: ConfigOverrides; actors: () => ReplacedActors }
> = {
  reference: {
    flags: {
      llm: { mode: 'openai', strategy: 'sequential' },
      execution: { taskConcurrency: 1, commandConcurrency: 1, planAhead: 0 },
    },
    actors: () => ({
      decomposer: decomposerActor(decomposerPorts(), { planCache: false, incrementalContext: false }),
      recoverer: recovererActor(recovererPorts, { errorPatterns: false }),
      executor: executorActor(executorPorts, { afterTaskOutcome: writeMemoryNow }),
    }),
  },
  optimized: { flags: { llm: { mode: 'openai' } }, actors: () => ({}) },
  'optimized, shared': { flags: { llm: { mode: 'openai' }, execution: { isolation: 'shared' } }, actors: () => ({}) },
};
