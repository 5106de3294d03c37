import { expect } from 'vitest';
import type { AgentEvent, StoredEvent } from '../../src/events/agent-events.ts';

/** An actor's state (its `state.ts`): a fold of the log's events. */
export type Fold<S> = { initialState: () => S; evolve: (state: S, event: StoredEvent) => S };

/** The events as the log would hand them back, numbered from 1. */
export const stored = (events: readonly AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));

/**
 * Emmett's DeciderSpecification for every actor the same way: given the events so far (folded by
 * the actor's state, or as they are when it decides on the events themselves), when its decide
 * meets an input, then these effects (or this check of them).
 */
export function given<S = StoredEvent[]>(events: readonly AgentEvent[], fold?: Fold<S>) {
  const state = fold ? stored(events).reduce(fold.evolve, fold.initialState()) : (stored(events) as S);
  return {
    state,
    when<O>(decide: (state: S) => O) {
      const output = decide(state);
      return {
        output,
        then(expected: O | ((output: O) => void)): void {
          if (typeof expected === 'function') (expected as (output: O) => void)(output);
          else expect(output).toEqual(expected);
        },
      };
    },
  };
}
