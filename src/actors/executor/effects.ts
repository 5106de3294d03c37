import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { Objm } from '@nats-io/obj';
import { makeEvent } from '../../events/agent-events.ts';
import { decodeJson, encodeJson } from '../../events/codec.ts';
import { OUTPUT_BUCKET, commandSubjects } from '../../events/subjects.ts';
import { RecoverReplySchema, type ExecuteTask, type RecoverReply, type RecoverRequest } from '../../events/work-commands.ts';
import { childEnvironment } from '../../exec/child-env.ts';
import { redactorFor } from '../../exec/redaction.ts';
import { checkCommand } from '../../exec/policy.ts';
import { runShellCommand, type CommandResult } from '../../exec/run-command.ts';
import { describeConfinement, refusedWrite, resolveConfinement, writeScope, type Confinement } from '../../exec/sandbox.ts';
import type { DecisionPoint } from '../../plan/plan-schema.ts';
import type { SuccessCriterion } from '../../spec/success-criterion.ts';
import type { Runtime } from '../runtime.ts';
import type { CommandOutcome, FixInput, RecoverInput, RecoveryRecord, RunCommandInput } from './types.ts';
import { eventIds, outputName, type CommandRef } from '../../events/ids.ts';
import { retryTransient } from '../../nats/transient.ts';

type Purpose = 'plan' | 'recovery' | 'check' | 'decision';

/**
 * The executor's effects for one task: run commands under the policy and record each as
 * CommandStarted/CommandFinished (appends awaited: a result is recorded before it counts), ask
 * the recoverer, check success criteria. Event ids are deterministic, so a redelivered task
 * re-emits nothing twice.
 */
export function executorEffects(rt: Runtime, item: ExecuteTask) {
  const { runId, taskId, workdir } = item;
  const { env } = childEnvironment();
  const redact = redactorFor(rt.config);
  const exec = rt.config.execution;
  const ids = { runId, taskId };
  let appends = Promise.resolve();
  const recoveryStarted = new Map<string, number>();
  const background = (p: Promise<unknown>) => {
    appends = appends.then(() => p).then(() => undefined, (error: unknown) => rt.log.error('append failed', error));
  };

  async function run(commandId: string, command: string, attempt: number, purpose: Purpose, timeoutMs?: number): Promise<CommandOutcome> {
    const confinement = await confinementOf(rt);
    const verdict = checkCommand(command, rt.config.policy.allow, writeScope(confinement, workdir));
    if (!verdict.allowed) {
      await rt.store.append(
        makeEvent('CommandDenied', { ...ids, id: eventIds.command({ runId, taskId, commandId, attempt }, 'CommandDenied') }, { commandId, command, rule: verdict.rule, reason: verdict.reason }),
      );
      return { ok: false, exitCode: null, timedOut: false, stdoutTail: '', stderrTail: '', denied: { rule: verdict.rule, reason: verdict.reason } };
    }
    const ref = { runId, taskId, commandId, attempt };
    const result = await runShellCommand(command, {
      onStart: async (pgid) => {
        await rt.store.append(
          makeEvent('CommandStarted', { ...ids, id: eventIds.command(ref, 'CommandStarted') }, {
            commandId,
            command,
            attempt,
            purpose,
            confinement: describeConfinement(confinement),
            ...(pgid ? { pgid, host: hostname() } : {}),
          }),
        );
      },
      ...(confinement.kind === 'bwrap' ? { sandbox: confinement.args(workdir) } : {}),
      cwd: workdir,
      env,
      redact,
      timeoutMs: timeoutMs ?? exec.commandTimeoutMs,
      tailChars: exec.tailChars,
      keepBytes: exec.keepBytes,
      heartbeatMs: exec.heartbeatMs,
      onHeartbeat: (elapsedMs, lastLine) =>
        background(rt.store.append(makeEvent('CommandHeartbeat', { ...ids }, { commandId, attempt, elapsedMs, lastLine }))),
    });
    const outputRef = result.fullOutput !== undefined ? await storeOutput(rt, ref, result.fullOutput) : undefined;
    const failed = result.exitCode !== 0 || result.timedOut;
    const refused = failed && confinement.kind === 'bwrap' ? refusedWrite(result.stderrTail, result.stdoutTail) : undefined;
    await rt.store.append(
      makeEvent('CommandFinished', { ...ids, id: eventIds.command(ref, 'CommandFinished') }, {
        commandId,
        command,
        attempt,
        purpose,
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
        startedAt: result.startedAt,
        stdoutTail: result.stdoutTail,
        stderrTail: result.stderrTail,
        truncated: result.truncated,
        redacted: result.redacted,
        ...(outputRef ? { outputRef } : {}),
        ...(refused ? { refused } : {}),
      }),
    );
    return { ...toOutcome(result), ...(refused ? { refused } : {}) };
  }

  return {
    runCommand: (input: RunCommandInput) => run(input.commandId, input.command, input.attempt, input.purpose, input.timeoutMs),

    runFix: async (input: FixInput): Promise<CommandOutcome> => {
      let last: CommandOutcome = { ok: true, exitCode: 0, timedOut: false, stdoutTail: '', stderrTail: '' };
      for (const [i, command] of input.commands.entries()) {
        last = await run(`${input.commandId}.fix${input.attempt}.${i + 1}`, command, 0, 'recovery');
        if (!last.ok) break;
      }
      return last;
    },

    evaluateDecision: async (dp: DecisionPoint): Promise<boolean> => {
      if (dp.evaluation === 'file_exists') return exists(workdir, dp.target);
      const outcome = await run(`decision.${dp.id}`, dp.target, 0, 'decision');
      return dp.evaluation === 'exit_code' ? outcome.exitCode === 0 : `${outcome.stdoutTail}${outcome.stderrTail}`.includes(dp.expected ?? '');
    },

    verify: async (criteria: SuccessCriterion[]): Promise<{ ok: true } | { ok: false; reason: string }> => {
      for (const [i, c] of criteria.entries()) {
        if (c.kind === 'file_exists') {
          if (!(await exists(workdir, c.path))) return { ok: false, reason: `success criterion not met: file ${c.path} does not exist` };
          continue;
        }
        const outcome = await run(`check${i + 1}`, c.command, 0, 'check');
        if (c.kind === 'command' && outcome.exitCode !== c.exitCode) {
          return { ok: false, reason: `success criterion not met: \`${c.command}\` exited ${outcome.exitCode}, expected ${c.exitCode}` };
        }
        if (c.kind === 'output_contains' && !`${outcome.stdoutTail}${outcome.stderrTail}`.includes(c.text)) {
          return { ok: false, reason: `success criterion not met: output of \`${c.command}\` does not contain "${c.text}"` };
        }
      }
      return { ok: true };
    },

    recover: async (input: RecoverInput): Promise<RecoverReply> => {
      // The sandbox said no: the only "fix" would be escaping it, which recovery never tries.
      if (input.outcome.refused) return { decision: 'give-up', reason: input.outcome.refused };
      const request: RecoverRequest = {
        runId,
        taskId,
        workdir,
        commandId: input.commandId,
        command: input.command,
        exitCode: input.outcome.exitCode,
        timedOut: input.outcome.timedOut,
        stdoutTail: input.outcome.stdoutTail,
        stderrTail: input.outcome.stderrTail,
        attempt: input.attempt,
        tried: input.tried,
        llm: item.llm,
      };
      recoveryStarted.set(`${input.commandId}#${input.attempt}`, performance.now());
      // A recoverer that dies mid-request (or restarts) is asked again: the request is idempotent.
      const tries = rt.config.recovery.requestTries;
      try {
        const reply = await retryTransient(() => rt.nc.request(commandSubjects.recover(), encodeJson(request), { timeout: rt.config.llm.timeoutMs + 5000 }), {
          attempts: tries,
          budgetMs: Infinity,
        });
        return decodeJson(RecoverReplySchema, commandSubjects.recover(), reply.data);
      } catch (error) {
        return { decision: 'give-up', reason: `no recovery: the recoverer did not answer after ${tries} tries (${(error as Error).message})` };
      }
    },

    recordRecovery: (record: RecoveryRecord) => {
      const strategy = record.reply.decision === 'fix' ? record.reply : { ...record.reply, source: 'pattern' as const };
      const started = recoveryStarted.get(`${record.commandId}#${record.attempt}`);
      const ref = {
        commandId: record.commandId,
        attempt: record.attempt,
        strategyId: strategy.strategyId,
        source: strategy.source,
        ...(strategy.patternId ? { patternId: strategy.patternId } : {}),
        // From the recovery request to the outcome: diagnosis, fix, and the retry.
        durationMs: started === undefined ? 0 : performance.now() - started,
      };
      const command = { runId, taskId, commandId: record.commandId, attempt: record.attempt };
      background(
        rt.store.append(
          record.resolved
            ? makeEvent('RecoveryResolved', { ...ids, id: eventIds.command(command, 'RecoveryResolved') }, ref)
            : makeEvent('RecoveryFailed', { ...ids, id: eventIds.command(command, 'RecoveryFailed') }, { ...ref, reason: record.reason ?? 'failed' }),
        ),
      );
    },

    /** Resolves when every background append (heartbeats, recovery outcomes) is acknowledged. */
    flushed: () => appends,
  };
}

const confinements = new WeakMap<Runtime, Promise<Confinement>>();
/** Decided once per runtime (probing bubblewrap once), then the same for every command. */
function confinementOf(rt: Runtime): Promise<Confinement> {
  let c = confinements.get(rt);
  if (!c) confinements.set(rt, (c = resolveConfinement(rt.config, (m) => rt.log.warn(m))));
  return c;
}

function toOutcome(result: CommandResult): CommandOutcome {
  return {
    ok: result.exitCode === 0 && !result.timedOut,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    stdoutTail: result.stdoutTail,
    stderrTail: result.stderrTail,
  };
}

async function exists(workdir: string, path: string): Promise<boolean> {
  const full = resolve(workdir, path);
  const rel = relative(workdir, full);
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  return stat(full).then(
    () => true,
    () => false,
  );
}

async function storeOutput(rt: Runtime, ref: CommandRef, output: string): Promise<string | undefined> {
  const name = outputName(ref);
  try {
    const os = await new Objm(rt.nc).create(OUTPUT_BUCKET, { replicas: rt.config.natsReplicas });
    await os.putBlob({ name }, new TextEncoder().encode(output));
    return `${OUTPUT_BUCKET}/${name}`;
  } catch (error) {
    rt.log.warn(`could not store the full output of ${name}: ${(error as Error).message}`);
    return undefined;
  }
}
