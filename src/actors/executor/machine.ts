import { assign, enqueueActions, fromPromise, setup, type DoneActorEvent } from 'xstate';
import type { RecoverReply } from '../../events/work-commands.ts';
import type { DecisionPoint } from '../../plan/plan-schema.ts';
import type { SuccessCriterion } from '../../tasklist/success-criterion.ts';
import {
  afterAttempt,
  atFailure,
  benignRecord,
  failureText,
  markFailedAs,
  settle,
  timeout,
  type Failure,
} from './context-updates.ts';
import { commandsOffBranch, gatingDecision, readyCommands } from './schedule.ts';
import type {
  CommandOutcome,
  CommandState,
  ConfirmInput,
  ExecutorContext,
  ExecutorInput,
  ExecutorOutput,
  FixInput,
  RecoverInput,
  RecoveryRecord,
  RunCommandInput,
} from './types.ts';
import { childIds } from '../../events/ids.ts';

type DoneEvent = DoneActorEvent<unknown, string>;

/** An activity the host provides (src/host/executor-activities.ts); run unprovided, it says so. */
const activity = <O, I>(name: string) =>
  fromPromise<O, I>(() => Promise.reject(new Error(`executor: ${name} must be provided`)));

/**
 * Executes one plan: commands start as soon as their dependencies are done (within the
 * command concurrency limit); a failure stops new starts, lets running ones finish, then goes to recovery
 * (fix and retry, or benign), and the task ends with its success criteria checked. All effects
 * (processes, events, the recoverer) are actors and actions the host provides.
 */
export const executorMachine = setup({
  types: {
    context: {} as ExecutorContext,
    input: {} as ExecutorInput,
    output: {} as ExecutorOutput,
    events: {} as DoneEvent,
  },
  actors: {
    runCommand: activity<CommandOutcome, RunCommandInput>('runCommand'),
    evaluateDecision: activity<boolean, DecisionPoint>('evaluateDecision'),
    recover: activity<RecoverReply, RecoverInput>('recover'),
    runFix: activity<CommandOutcome, FixInput>('runFix'),
    confirmBenign: activity<CommandOutcome, ConfirmInput>('confirmBenign'),
    verify: activity<{ ok: true } | { ok: false; reason: string }, SuccessCriterion[]>('verify'),
  },
  actions: {
    recordRecovery: (_, _record: RecoveryRecord) => {
      throw new Error('executor: recordRecovery must be provided');
    },
    /** Every way a task fails, one action: the stage, why, and the command it failed at. */
    fail: assign((_, failure: Failure) => ({ result: { ok: false as const, ...failure } })),
    startReady: enqueueActions(({ context: before, enqueue }) => {
      const updates: Record<string, CommandState> = {};
      for (const id of commandsOffBranch(before)) updates[id] = { ...before.commands[id]!, state: 'skipped' };
      const context = { ...before, commands: { ...before.commands, ...updates } };
      const decisions: Record<string, 'pending'> = {};
      let running = Object.values(context.commands).filter((c) => c.state === 'running').length;
      for (const cmd of readyCommands(context)) {
        const gate = gatingDecision(context, cmd.id);
        if (gate) {
          const value = decisions[gate.id] ?? context.decisions[gate.id];
          if (value === undefined) {
            decisions[gate.id] = 'pending';
            enqueue.spawnChild('evaluateDecision', { id: childIds.decision(gate.id), input: gate });
          }
          // Gated commands wait for their decision; once it is known, off-branch ones are skipped.
          if (value === undefined || value === 'pending') continue;
        }
        if (running >= context.commandConcurrency) break;
        running++;
        updates[cmd.id] = { ...cmd, state: 'running' };
        enqueue.spawnChild('runCommand', {
          id: childIds.command(cmd.id, cmd.attempt),
          input: {
            commandId: cmd.id,
            command: cmd.command,
            attempt: cmd.attempt,
            purpose: 'plan',
            ...(cmd.timeoutMs ? { timeoutMs: cmd.timeoutMs } : {}),
          },
        });
      }
      enqueue.assign({
        commands: { ...context.commands, ...updates },
        decisions: { ...context.decisions, ...decisions },
      });
    }),
  },
  guards: {
    allSettled: ({ context }) =>
      Object.values(context.commands).every((c) => c.state === 'done' || c.state === 'skipped'),
    failedAndIdle: ({ context }) =>
      context.failure !== undefined && Object.values(context.commands).every((c) => c.state !== 'running'),
  },
}).createMachine({
  id: 'executor',
  context: ({ input }) => {
    const commands: Record<string, CommandState> = {};
    for (const c of input.plan.commands) {
      const done = input.resume?.done.includes(c.id) ?? false;
      commands[c.id] = {
        id: c.id,
        command: c.command,
        state: done ? 'done' : 'waiting',
        attempt: input.resume?.nextAttempt[c.id] ?? 0,
        ...timeout(c),
      };
    }
    return {
      order: input.plan.commands.map((c) => c.id),
      commands,
      deps: input.deps,
      decisionPoints: input.plan.decisionPoints,
      successCriteria: input.plan.successCriteria,
      decisions: {},
      commandConcurrency: input.commandConcurrency,
      maxRecoveryAttempts: input.maxRecoveryAttempts,
      recoveryAttempts: input.resume?.recoveryAttempts ?? 0,
      recoveries: 0,
      replaced: 0,
      tried: {},
    };
  },
  initial: 'running',
  states: {
    running: {
      entry: 'startReady',
      always: [
        { guard: 'failedAndIdle', target: 'recovering' },
        { guard: 'allSettled', target: 'verifying' },
      ],
      on: {
        'xstate.done.actor.*': {
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              const { updates, record } = settle(context, event);
              enqueue.assign(updates);
              if (record) enqueue({ type: 'recordRecovery', params: record });
            }),
            'startReady',
          ],
        },
      },
    },
    recovering: {
      always: [
        {
          guard: ({ context }) => context.failure?.outcome.denied !== undefined,
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ context }) =>
              atFailure(
                context,
                'policy',
                `command denied by policy (${context.failure!.outcome.denied!.rule}): ${context.failure!.outcome.denied!.reason}`,
              ),
          },
        },
        {
          guard: ({ context }) => context.recoveryAttempts >= context.maxRecoveryAttempts,
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ context }) =>
              atFailure(
                context,
                'recovery',
                `${failureText(context)}; gave up after ${context.recoveryAttempts} recovery attempts`,
              ),
          },
        },
      ],
      invoke: {
        src: 'recover',
        input: ({ context }) => {
          const f = context.failure!;
          const cmd = context.commands[f.commandId]!;
          return {
            commandId: f.commandId,
            command: cmd.command,
            attempt: context.recoveryAttempts,
            outcome: f.outcome,
            tried: context.tried[f.commandId] ?? [],
          };
        },
        onDone: [
          {
            guard: ({ event }) => event.output.decision === 'give-up',
            target: 'failed',
            actions: {
              type: 'fail',
              params: ({ context, event }) =>
                atFailure(
                  context,
                  'recovery',
                  `${failureText(context)}; ${(event.output as Extract<RecoverReply, { decision: 'give-up' }>).reason}`,
                ),
            },
          },
          {
            guard: ({ event }) => event.output.decision === 'benign',
            target: 'confirming',
            actions: assign(({ event }) => ({
              pendingBenign: event.output as Extract<RecoverReply, { decision: 'benign' }>,
            })),
          },
          {
            target: 'fixing',
            actions: assign(({ event }) => ({
              pendingFix: event.output as Extract<RecoverReply, { decision: 'fix' }>,
            })),
          },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ context, event }) =>
              atFailure(
                context,
                'recovery',
                `${failureText(context)}; recovery unavailable: ${(event.error as Error).message}`,
              ),
          },
        },
      },
    },
    // A benign verdict holds only if the state shows the command's intent (a clean tree for "nothing to commit").
    confirming: {
      invoke: {
        src: 'confirmBenign',
        input: ({ context }) => ({
          commandId: context.failure!.commandId,
          attempt: context.recoveryAttempts,
          check: context.pendingBenign!.holds,
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: 'running',
            actions: [
              enqueueActions(({ context, enqueue }) => {
                enqueue({ type: 'recordRecovery', params: benignRecord(context, true) });
              }),
              assign(({ context }) => markFailedAs(context, 'done')),
            ],
          },
          {
            target: 'recovering',
            actions: [
              enqueueActions(({ context, event, enqueue }) => {
                const why = `not benign: the state does not show it (\`${context.pendingBenign!.holds}\` exited ${event.output.exitCode})`;
                enqueue({ type: 'recordRecovery', params: benignRecord(context, false, why) });
              }),
              assign(({ context }) =>
                afterAttempt(context, context.failure!.outcome, context.pendingBenign!.strategyId),
              ),
            ],
          },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ context, event }) =>
              atFailure(context, 'recovery', `the state check could not run: ${(event.error as Error).message}`),
          },
        },
      },
    },
    fixing: {
      invoke: {
        src: 'runFix',
        input: ({ context }) => ({
          commandId: context.failure!.commandId,
          attempt: context.recoveryAttempts,
          commands: context.pendingFix!.commands,
        }),
        onDone: [
          {
            // The fix itself failed: record it, remember the strategy, and ask again.
            guard: ({ event }) => !event.output.ok,
            target: 'recovering',
            actions: [
              enqueueActions(({ context, event, enqueue }) => {
                enqueue({
                  type: 'recordRecovery',
                  params: {
                    commandId: context.failure!.commandId,
                    attempt: context.recoveryAttempts,
                    reply: context.pendingFix!,
                    resolved: false,
                    reason: `fix command failed (exit ${event.output.exitCode})`,
                  },
                });
              }),
              assign(({ context }) => afterAttempt(context, context.failure!.outcome)),
            ],
          },
          {
            guard: ({ context }) => context.pendingFix!.retry,
            target: 'running',
            actions: assign(({ context }) => ({
              ...markFailedAs(context, 'waiting'),
              retrying: {
                commandId: context.failure!.commandId,
                fix: context.pendingFix!,
                attempt: context.recoveryAttempts,
              },
            })),
          },
          {
            // The fix does the command's work (no retry): done, and it counts as resolved.
            target: 'running',
            actions: [
              enqueueActions(({ context, enqueue }) => {
                enqueue({
                  type: 'recordRecovery',
                  params: {
                    commandId: context.failure!.commandId,
                    attempt: context.recoveryAttempts,
                    reply: context.pendingFix!,
                    resolved: true,
                  },
                });
              }),
              assign(({ context }) => ({
                ...markFailedAs(context, 'done'),
                recoveries: context.recoveries + 1,
                replaced: context.replaced + (context.pendingFix!.source === 'llm' ? 1 : 0),
              })),
            ],
          },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ context, event }) =>
              atFailure(context, 'recovery', `fix could not run: ${(event.error as Error).message}`),
          },
        },
      },
    },
    verifying: {
      invoke: {
        src: 'verify',
        input: ({ context }) => context.successCriteria,
        onDone: [
          { guard: ({ event }) => event.output.ok, target: 'completed' },
          {
            target: 'failed',
            actions: {
              type: 'fail',
              params: ({ event }) => ({
                stage: 'verification' as const,
                reason: (event.output as { reason: string }).reason,
              }),
            },
          },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'fail',
            params: ({ event }) => ({ stage: 'verification' as const, reason: (event.error as Error).message }),
          },
        },
      },
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.result ?? {
      ok: true,
      commands: Object.values(context.commands).filter((c) => c.state === 'done').length,
      recoveries: context.recoveries,
      // Criteria that held show the task's intent whatever the fixes; without them, only commands run as planned do.
      evidence: context.successCriteria.length > 0 ? 'criteria' : context.replaced > 0 ? 'none' : 'commands',
    },
});
