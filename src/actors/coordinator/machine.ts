import { enqueueActions, setup } from 'xstate';
import type { StoredEvent } from '../../events/agent-events.ts';
import { evolveRunStatus, initialRunStatus, type RunStatus } from '../../projections/run-status.ts';
import { decide, type Decision } from './decide.ts';

export type CoordinatorContext = { status: RunStatus; issued: string[] };
export type CoordinatorEvent = { type: 'logged'; event: StoredEvent };

/**
 * One run, driven by its own events: each logged event is folded into the run status, then the
 * decisions it allows are performed (by the host's `perform`). The log is the only memory, so a
 * restarted coordinator that replays the run arrives at the same place and re-issues only what
 * is missing (work items carry deterministic ids, so a repeat is dropped by JetStream).
 */
export const coordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as { runId: string; status?: RunStatus },
  },
  actions: {
    perform: (_, _decision: Decision) => {
      throw new Error('coordinator: perform must be provided by the host');
    },
  },
  guards: {
    finished: ({ context }) => context.status.finished !== undefined,
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input }) => ({ status: input.status ?? initialRunStatus(input.runId), issued: [] }),
  initial: 'following',
  states: {
    following: {
      always: { guard: 'finished', target: 'finished' },
      on: {
        logged: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const status = evolveRunStatus(context.status, event.event);
            const decisions = decide(status, new Set(context.issued));
            enqueue.assign({ status, issued: [...context.issued, ...decisions.map((d) => d.key)] });
            for (const decision of decisions) enqueue({ type: 'perform', params: decision });
          }),
        },
      },
    },
    finished: { type: 'final' },
  },
});
