import { DEFAULT_ACTOR_OPTIONS, type ActorOptions } from '../src/actors/actor-options.ts';
import type { ConfigOverrides } from '../src/config.ts';
import { writeMemoryNow } from './reference-memory.ts';

/**
 * The two systems the benchmark runs side by side on the same task list: the reference workflow
 * this project replaces (five planning calls in a row, one task and one command at a time, no
 * plan cache, context reloaded per task, the LLM for every failure, memory written before the
 * next task) and the system as it ships.
 */
export const SYSTEMS: Record<'reference' | 'optimized', { flags: ConfigOverrides; actors: ActorOptions }> = {
  reference: {
    flags: {
      llm: { mode: 'openai', strategy: 'sequential' },
      execution: { taskConcurrency: 1, commandConcurrency: 1, planAhead: 0 },
    },
    actors: { planCache: false, incrementalContext: false, errorPatterns: false, afterTaskOutcome: writeMemoryNow },
  },
  optimized: { flags: { llm: { mode: 'openai' } }, actors: DEFAULT_ACTOR_OPTIONS },
};
