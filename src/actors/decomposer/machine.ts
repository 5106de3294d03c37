import type { LlmMode } from '../../events/llm-mode.ts';
import { assign, fromPromise, setup } from 'xstate';
import { LlmError } from '../../errors.ts';
import { explicitPlan } from '../../plan/explicit-plan.ts';
import type { Plan, PlanSource } from '../../plan/plan-schema.ts';
import type { TaskSpec } from '../../tasklist/task-spec.ts';

export type DecomposerInput = { task: TaskSpec; group: boolean; llm: LlmMode; useCache: boolean };
export type CacheAnswer = { hit: true; plan: Plan } | { hit: false };
export type DecomposerOutput =
  | { ok: true; plan: Plan; source: PlanSource; strategy?: string }
  /** `cancelled`: its task will not run (skipped) or its run is over, so its planning was stopped. */
  | { ok: false; reason: string; cancelled?: true };

type Context = DecomposerInput & {
  plan?: Plan;
  source?: PlanSource;
  strategy?: string;
  reason?: string;
  cancelled?: true;
};

/**
 * Turns one task into a plan, cheapest source first: the commands written in tasks.md, then the
 * plan cache, then (only then) the LLM. Cache lookups and LLM calls are the host's effects.
 */
export const decomposerMachine = setup({
  types: { context: {} as Context, input: {} as DecomposerInput, output: {} as DecomposerOutput },
  actors: {
    lookupCache: fromPromise<CacheAnswer, TaskSpec>(async () => ({ hit: false })),
    planWithLlm: fromPromise<{ plan: Plan; strategy: string }, TaskSpec>(async () => {
      throw new Error('decomposer: planWithLlm must be provided');
    }),
  },
  guards: {
    hasExplicitPlan: ({ context }) => context.group || context.task.commands.length > 0,
    offline: ({ context }) => context.llm === 'offline',
  },
}).createMachine({
  id: 'decomposer',
  context: ({ input }) => ({ ...input }),
  initial: 'choosing',
  states: {
    choosing: {
      always: [
        {
          guard: 'hasExplicitPlan',
          target: 'done',
          actions: assign({ plan: ({ context }) => explicitPlan(context.task), source: 'explicit' }),
        },
        { guard: ({ context }) => context.useCache, target: 'cache' },
        { target: 'llm' },
      ],
    },
    cache: {
      invoke: {
        src: 'lookupCache',
        input: ({ context }) => context.task,
        onDone: [
          {
            guard: ({ event }) => event.output.hit,
            target: 'done',
            actions: assign({ plan: ({ event }) => (event.output as { plan: Plan }).plan, source: 'cache' }),
          },
          { target: 'llm' },
        ],
        // A broken cache is never a reason to fail a task: plan as if it missed.
        onError: { target: 'llm' },
      },
    },
    llm: {
      always: {
        guard: 'offline',
        target: 'failed',
        actions: assign({
          reason: ({ context }) =>
            `task ${context.task.id} has no commands in tasks.md and no cached plan, so it needs an LLM, but the LLM is offline. ` +
            'Set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible server) or pass --llm openai, or add a ```bash block to the task.',
        }),
      },
      invoke: {
        src: 'planWithLlm',
        input: ({ context }) => context.task,
        onDone: {
          target: 'done',
          actions: assign({
            plan: ({ event }) => event.output.plan,
            strategy: ({ event }) => event.output.strategy,
            source: 'llm',
          }),
        },
        onError: {
          target: 'failed',
          actions: assign(({ event }) =>
            event.error instanceof LlmError && event.error.kind === 'cancelled'
              ? { reason: `planning cancelled: ${event.error.message}`, cancelled: true as const }
              : { reason: `planning failed: ${(event.error as Error).message}` },
          ),
        },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.plan && context.source
      ? {
          ok: true,
          plan: context.plan,
          source: context.source,
          ...(context.strategy ? { strategy: context.strategy } : {}),
        }
      : { ok: false, reason: context.reason ?? 'no plan', ...(context.cancelled ? { cancelled: true as const } : {}) },
});
