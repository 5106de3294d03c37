import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { RecoverReplySchema, type ExecuteTask, type RecoverReply } from '../../events/work-commands.ts';
import { commandSubjects } from '../../events/subjects.ts';
import { childIds, commandIds, outputName, type CommandRef } from '../../events/ids.ts';
import { childEnvironment } from '../../exec/child-env.ts';
import { redactorFor } from '../../exec/redaction.ts';
import { checkCommand } from '../../exec/policy.ts';
import { runConfined } from '../../exec/confined-run.ts';
import { commandTimeoutMs } from '../../exec/limits.ts';
import { describeConfinement, writeScope, type Confinement } from '../../exec/sandbox.ts';
import { retryPolicies } from '../../nats/retry-policies.ts';
import { retryTransient } from '../../nats/transient.ts';
import type { DecisionPoint } from '../../plan/plan-schema.ts';
import { criterionFailure, outputFailure, type SuccessCriterion } from '../../tasklist/success-criterion.ts';
import type { RunTrees } from '../../workspace/run-trees.ts';
import type { DirtyPaths } from '../../workspace/git.ts';
import type { SiteCopies } from '../../workspace/site-copies.ts';
import type { RecordedRuns } from './admission.ts';
import type { Content } from '../../workspace/work-tree.ts';
import { insideWorkdir } from '../../context/project-files.ts';
import { append, type ActorIO } from '../actor.ts';
import {
  commandDenied,
  commandFinished,
  commandHeartbeat,
  commandStarted,
  recoverRequest,
  recoveryOutcome,
  toOutcome,
  type Purpose,
} from './records.ts';
import type { CommandOutcome, ConfirmInput, FixInput, RecoverInput, RecoveryRecord, RunCommandInput } from './types.ts';

/** What the executor keeps between tasks in one process. */
export type Executing = {
  /** Decided once per process (probing bubblewrap once), the same for every command. */
  confinement(): Promise<Confinement>;
  /** The working trees of the runs executing here: what each task changed (src/workspace). */
  trees: RunTrees;
  /** The runs work was taken for, as their RunStarted records them: what an item is checked against. */
  runs: RecordedRuns;
  /** What each run found not committed (`--commit` leaves it out of every commit). */
  dirty: DirtyPaths;
  /** At a site (`--site`): its copies of the runs' projects, where their tasks run. */
  copies?: SiteCopies;
};

/**
 * The executor machine's effects for one task: run commands under the policy, recording each as
 * CommandStarted/CommandFinished (awaited: a result is recorded before it counts), ask the
 * recoverer, check success criteria. What is recorded is built by the pure functions of records.ts.
 */
export function executorEffects(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  place: {
    /** What a path held before the run: stored first when a fix replaces a file from before it. */
    before: (path: string) => Content | undefined;
    /** The task's view, when it has one: commands enter it, the executor reads the folder at its root. */
    view?: { enter: readonly string[]; root: string };
    /** How many times the task started over (a conflict's retry): its checks and decisions run again under new ids. */
    round: number;
  },
  /** Records what the task changed so far, after a recovery fix. */
  afterFix: (fix: string) => Promise<void>,
) {
  const { rt } = io;
  const { workdir } = item;
  const seen = place.view?.root ?? workdir;
  const { env } = childEnvironment();
  const redact = redactorFor(rt.config);
  const exec = rt.config.execution;
  const recoveryStarted = new Map<string, number>();
  const keepFirst = async (reply: RecoverReply & { decision: 'fix' }, paths: string[]): Promise<RecoverReply> => {
    const failed = await storeBeforeFix(rt, place.before, paths);
    if (failed)
      return {
        decision: 'give-up',
        reason: `the fix \`${reply.commands.join('; ')}\` replaces ${paths.join(', ')}, from before this run: not applied, as ${failed}`,
      };
    rt.log.info(`task ${item.taskId}: stored ${paths.join(', ')} before a fix replaces them (revert puts them back)`);
    return reply;
  };

  async function run(
    commandId: string,
    command: string,
    attempt: number,
    purpose: Purpose,
    timeoutMs?: number,
  ): Promise<CommandOutcome> {
    const confinement = await io.resources.confinement();
    const ref: CommandRef = { runId: item.runId, taskId: item.taskId, commandId, attempt };
    const verdict = checkCommand(command, rt.config.policy.allow, writeScope(confinement, workdir));
    if (!verdict.allowed) {
      await io.perform([append(commandDenied(ref, command, verdict))]);
      return {
        ok: false,
        exitCode: null,
        timedOut: false,
        stdoutTail: '',
        stderrTail: '',
        denied: { rule: verdict.rule, reason: verdict.reason },
      };
    }
    const result = await runConfined(
      command,
      confinement,
      exec.limits,
      {
        onStart: async (pgid) => {
          await io.perform([
            append(
              commandStarted(ref, command, purpose, {
                confinement: describeConfinement(confinement),
                host: hostname(),
                ...(pgid ? { pgid } : {}),
                ...(io.rt.config.site ? { site: io.rt.config.site.name } : {}),
              }),
            ),
          ]);
        },
        cwd: workdir,
        env,
        redact,
        timeoutMs: commandTimeoutMs(timeoutMs, exec.commandTimeoutMs),
        tailChars: exec.tailChars,
        keepBytes: exec.keepBytes,
        heartbeatMs: exec.heartbeatMs,
        onHeartbeat: (elapsedMs, lastLine) => io.background([append(commandHeartbeat(ref, elapsedMs, lastLine))]),
      },
      place.view,
    );
    const outputRef = result.fullOutput !== undefined ? await storeOutput(io, ref, result.fullOutput) : undefined;
    const { refused } = result;
    await io.perform([
      append(
        commandFinished(ref, command, purpose, result, {
          ...(outputRef ? { outputRef } : {}),
          ...(refused ? { refused } : {}),
        }),
      ),
    ]);
    return toOutcome(result, refused);
  }

  return {
    runCommand: (input: RunCommandInput) =>
      run(input.commandId, input.command, input.attempt, input.purpose, input.timeoutMs),

    runFix: async (input: FixInput): Promise<CommandOutcome> => {
      let last: CommandOutcome = { ok: true, exitCode: 0, timedOut: false, stdoutTail: '', stderrTail: '' };
      for (const [i, command] of input.commands.entries()) {
        last = await run(commandIds.fix(input.commandId, input.attempt, i + 1), command, 0, 'recovery');
        if (!last.ok) break;
      }
      await afterFix(`${input.commandId} recovery ${input.attempt}`);
      return last;
    },

    confirmBenign: (input: ConfirmInput): Promise<CommandOutcome> =>
      run(commandIds.benignCheck(input.commandId, input.attempt), input.check, 0, 'check'),

    evaluateDecision: async (dp: DecisionPoint): Promise<boolean> => {
      if (dp.evaluation === 'file_exists') return exists(seen, dp.target);
      const outcome = await run(commandIds.decision(dp.id), dp.target, place.round, 'decision');
      if (dp.evaluation === 'exit_code') return outcome.exitCode === 0;
      // As an output criterion: the text printed by a command that crashed does not count.
      const output = `${outcome.stdoutTail}${outcome.stderrTail}`;
      return outputFailure(dp.target, { exitCode: outcome.exitCode, output }, dp.expected ?? '') === undefined;
    },

    verify: async (criteria: SuccessCriterion[]): Promise<{ ok: true } | { ok: false; reason: string }> => {
      for (const [i, c] of criteria.entries()) {
        const failure = await criterionFailure(c, {
          exists: (path) => exists(seen, path),
          run: async (command) => {
            const outcome = await run(commandIds.check(i + 1), command, place.round, 'check');
            return { exitCode: outcome.exitCode, output: `${outcome.stdoutTail}${outcome.stderrTail}` };
          },
        });
        if (failure) return { ok: false, reason: `success criterion not met: ${failure}` };
      }
      return { ok: true };
    },

    recover: async (input: RecoverInput): Promise<RecoverReply> => {
      // The sandbox said no: the only "fix" would be escaping it, which recovery never tries.
      if (input.outcome.refused) return { decision: 'give-up', reason: input.outcome.refused };
      recoveryStarted.set(childIds.command(input.commandId, input.attempt), performance.now());
      // A recoverer that dies mid-request (or restarts) is asked again: the request is idempotent.
      const tries = rt.config.recovery.requestTries;
      let reply: RecoverReply;
      try {
        reply = await retryTransient(
          () =>
            rt.requests.request(
              commandSubjects.recover(),
              recoverRequest(item, input, place.view?.root),
              RecoverReplySchema,
              rt.config.llm.timeoutMs + 5000,
            ),
          retryPolicies.recover(tries),
        );
      } catch (error) {
        return {
          decision: 'give-up',
          reason: `no recovery: the recoverer did not answer after ${tries} tries (${(error as Error).message})`,
        };
      }
      return reply.decision === 'fix' && reply.keep?.length ? keepFirst(reply, reply.keep) : reply;
    },

    recordRecovery: (record: RecoveryRecord) => {
      // From the recovery request to the outcome: diagnosis, fix, and the retry.
      const started = recoveryStarted.get(childIds.command(record.commandId, record.attempt));
      io.background([append(recoveryOutcome(item, record, started === undefined ? 0 : performance.now() - started))]);
    },
  };
}

export async function exists(workdir: string, path: string): Promise<boolean> {
  const full = resolve(workdir, path);
  const rel = relative(workdir, full);
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  return stat(full).then(
    () => true,
    () => false,
  );
}

/**
 * A fix that replaces files from before the run goes ahead only once their before contents are
 * in the content store (rollback and `revert` then put them back); one that cannot be kept is
 * not run.
 */
async function storeBeforeFix(
  rt: ActorIO<Executing>['rt'],
  before: (path: string) => Content | undefined,
  paths: readonly string[],
): Promise<string | undefined> {
  for (const path of paths) {
    const content = before(insideWorkdir(path) ?? path);
    if (!content?.bytes)
      return `the content of ${path} from before the run is not kept (too large, or not a file of the working directory)`;
    try {
      await retryTransient(() => rt.contents.put(content.hash, content.bytes!), retryPolicies.request);
    } catch (error) {
      return `the content of ${path} could not be stored: ${(error as Error).message}`;
    }
  }
  return undefined;
}

async function storeOutput(io: ActorIO<Executing>, ref: CommandRef, output: string): Promise<string | undefined> {
  const name = outputName(ref);
  try {
    return await io.rt.outputs.put(name, output);
  } catch (error) {
    io.rt.log.warn(`could not store the full output of ${name}: ${(error as Error).message}`);
    return undefined;
  }
}
