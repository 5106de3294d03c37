import type { StoredEvent } from '../events/agent-events.ts';

/**
 * The one shape of a projection: a pure fold with a name and a version (a new version rebuilds
 * from the start). Each projection module exports one; `runner.ts` keeps any of them current.
 * Declared with method signatures so that a `Projection<PlanCache>` is also a
 * `Projection<unknown>` in a catalog.
 */
export type Projection<S> = {
  name: string;
  version: number;
  initialState(): S;
  evolve(state: S, event: StoredEvent): S;
};
