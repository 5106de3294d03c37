import { routeAttemptOfItem } from '../events/site-events.ts';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { RecoverReplySchema, type ExecuteTask, type RecoverReply } from '../events/work-commands.ts';
import { commandSubjects } from '../events/subjects.ts';
import { childIds, commandIds, outputName, type CommandRef } from '../events/ids.ts';
import { childEnvironment } from '../exec/child-env.ts';
import { redactorFor } from '../exec/redaction.ts';
import { checkCommand } from '../exec/policy.ts';
import { runConfined } from '../exec/confined-run.ts';
import { commandTimeoutMs } from '../exec/limits.ts';
import { describeConfinement, writeScope, type Bound } from '../exec/sandbox.ts';
import { retryPolicies } from '../nats/retry-policies.ts';
import { retryTransient } from '../nats/transient.ts';
import { criterionFailure, outputFailure } from '../tasklist/success-criterion.ts';
import type { Content } from '../workspace/work-tree.ts';
import { insideWorkdir } from '../context/project-files.ts';
import { append, type ActorIO, type Runtime } from '../actors/actor.ts';
import type { TaskActivities } from '../actors/executor/ports.ts';
import {
  commandDenied,
  commandFinished,
  commandHeartbeat,
  commandStarted,
  recoverRequest,
  recoveryOutcome,
  toOutcome,
  type Purpose,
} from '../actors/executor/records.ts';
import type { CommandOutcome, RecoverInput } from '../actors/executor/types.ts';
import type { Executing } from './executor-resources.ts';

/** Where a task's commands run. */
export type Place = {
  /** What a path held before the run: stored first when a fix replaces a file from before it. */
  before: (path: string) => Content | undefined;
  /** The task's view, when it has one: commands enter it, the executor reads the folder at its root. */
  view?: { enter: readonly string[]; root: string; bound?: Bound };
  /** How many times the task started over (a conflict's retry): its checks and decisions run again under new ids. */
  round: number;
};

type RunOne = (
  commandId: string,
  command: string,
  attempt: number,
  purpose: Purpose,
  timeoutMs?: number,
) => Promise<CommandOutcome>;

/**
 * The executor machine's activities for one task: run commands under the policy, recording each
 * as CommandStarted/CommandFinished (awaited: a result is recorded before it counts), ask the
 * recoverer, check success criteria. What is recorded is built by the pure functions of the
 * actor's records.ts.
 */
export function taskActivities(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  place: Place,
  /** Records what the task changed so far, after a recovery fix. */
  afterFix: (fix: string) => Promise<void>,
): TaskActivities {
  const seen = place.view?.root ?? item.workdir;
  const run = commandRunner(io, item, place);
  const recoveryStarted = new Map<string, number>();
  return {
    runCommand: (input) => run(input.commandId, input.command, input.attempt, input.purpose, input.timeoutMs),
    runFix: async (input) => {
      let last: CommandOutcome = { ok: true, exitCode: 0, timedOut: false, stdoutTail: '', stderrTail: '' };
      for (const [i, command] of input.commands.entries()) {
        last = await run(commandIds.fix(input.commandId, input.attempt, i + 1), command, 0, 'recovery');
        if (!last.ok) break;
      }
      await afterFix(`${input.commandId} recovery ${input.attempt}`);
      return last;
    },
    confirmBenign: (input) => run(commandIds.benignCheck(input.commandId, input.attempt), input.check, 0, 'check'),
    evaluateDecision: async (dp) => {
      if (dp.evaluation === 'file_exists') return exists(seen, dp.target);
      const outcome = await run(commandIds.decision(dp.id), dp.target, place.round, 'decision');
      if (dp.evaluation === 'exit_code') return outcome.exitCode === 0;
      // As an output criterion: the text printed by a command that crashed does not count.
      const output = `${outcome.stdoutTail}${outcome.stderrTail}`;
      return outputFailure(dp.target, { exitCode: outcome.exitCode, output }, dp.expected ?? '') === undefined;
    },
    verify: async (criteria) => {
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
    recover: (input) => {
      recoveryStarted.set(childIds.command(input.commandId, input.attempt), performance.now());
      return askRecoverer(io, item, place, input);
    },
    recordRecovery: (record) => {
      // From the recovery request to the outcome: diagnosis, fix, and the retry.
      const started = recoveryStarted.get(childIds.command(record.commandId, record.attempt));
      io.background([append(recoveryOutcome(item, record, started === undefined ? 0 : performance.now() - started))]);
    },
  };
}

/** Runs one command under the policy and the sandbox, its start and its result recorded before it counts. */
function commandRunner(io: ActorIO<Executing>, item: ExecuteTask, place: Place): RunOne {
  const { rt } = io;
  const { env } = childEnvironment();
  const redact = redactorFor(rt.config);
  const exec = rt.config.execution;
  return async (commandId, command, attempt, purpose, timeoutMs) => {
    const confinement = await io.resources.confinement();
    const ref: CommandRef = { runId: item.runId, taskId: item.taskId, commandId, attempt };
    const verdict = checkCommand(command, rt.config.policy.allow, writeScope(confinement, item.workdir));
    if (!verdict.allowed) {
      await io.perform([append(commandDenied(ref, command, verdict))]);
      const denied = { rule: verdict.rule, reason: verdict.reason };
      return { ok: false, exitCode: null, timedOut: false, stdoutTail: '', stderrTail: '', denied };
    }
    const where = { confinement: describeConfinement(confinement), host: hostname() };
    const site = {
      ...(rt.config.site ? { site: rt.config.site.name } : {}),
      ...routeAttemptOfItem(item),
    };
    const result = await runConfined(
      command,
      confinement,
      exec.limits,
      {
        onStart: async (pgid) => {
          await io.perform([
            append(commandStarted(ref, command, purpose, { ...where, ...(pgid ? { pgid } : {}), ...site })),
          ]);
        },
        cwd: item.workdir,
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
    const stored = { ...(outputRef ? { outputRef } : {}), ...(refused ? { refused } : {}) };
    await io.perform([append(commandFinished(ref, command, purpose, result, stored))]);
    return toOutcome(result, refused);
  };
}

/** The recoverer's reply to a failure; a fix that replaces files from before the run only once they are kept. */
async function askRecoverer(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  place: Place,
  input: RecoverInput,
): Promise<RecoverReply> {
  const { rt } = io;
  // The sandbox said no: the only "fix" would be escaping it, which recovery never tries.
  if (input.outcome.refused) return { decision: 'give-up', reason: input.outcome.refused };
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
  if (reply.decision !== 'fix' || !reply.keep?.length) return reply;
  const paths = reply.keep;
  const failed = await storeBeforeFix(rt, place.before, paths);
  if (failed)
    return {
      decision: 'give-up',
      reason: `the fix \`${reply.commands.join('; ')}\` replaces ${paths.join(', ')}, from before this run: not applied, as ${failed}`,
    };
  rt.log.info(`task ${item.taskId}: stored ${paths.join(', ')} before a fix replaces them (revert puts them back)`);
  return reply;
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
  rt: Runtime,
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
