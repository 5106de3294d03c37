import type { StoredEvent } from '../events/agent-events.ts';
import type { Runtime } from './runtime.ts';

/**
 * How the actors work where the reference workflow (the one this project replaces, which the
 * benchmark runs side by side) worked otherwise. Nothing in production sets these: the defaults
 * are the system. `bench/reference.ts` passes the reference workflow's choices to `hostActors`.
 */
export type ActorOptions = {
  /** Serve plans from the plan cache. */
  planCache: boolean;
  /** Keep context loaders and project trees between tasks, rereading only what changed. */
  incrementalContext: boolean;
  /** Try the pattern database before the LLM when a command fails. */
  errorPatterns: boolean;
  /** Awaited after each task outcome is recorded, before the executor moves on. */
  afterTaskOutcome?: (rt: Runtime, outcome: StoredEvent) => Promise<void>;
};

export const DEFAULT_ACTOR_OPTIONS: ActorOptions = { planCache: true, incrementalContext: true, errorPatterns: true };
