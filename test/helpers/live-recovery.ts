import { mkdtemp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RecoverReply, RecoverRequest } from '../../src/events/work-commands.ts';
import { childEnvironment } from '../../src/exec/child-env.ts';
import { runShellCommand, type CommandResult, type ShellCommandOptions } from '../../src/exec/run-command.ts';
import { toolchainHomes } from '../../src/exec/sandbox.ts';
import { failureFingerprint } from '../../src/recovery/fingerprint.ts';

/** How real tools are run in these tests: a scratch folder, the executor's environment (LC_ALL=C), a home of its own with the toolchains. */
export async function liveOptions(root: string, dir: string): Promise<ShellCommandOptions> {
  const home = await mkdtemp(join(root, 'home-'));
  const { env } = childEnvironment();
  return {
    cwd: dir,
    env: {
      ...env,
      ...toolchainHomes(homedir(), env),
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      npm_config_cache: join(root, 'npm-cache'),
    },
    timeoutMs: 30_000,
    tailChars: 4000,
    keepBytes: 65536,
  };
}

export type LiveOutcome = {
  outcome: 'recovered' | 'escalated' | 'benign';
  patternId: string;
  strategies: string[];
  why?: string;
};

/**
 * Recovers a failed command as the executor does: ask for a reply, run the fix's commands, run the
 * command again (or the fix's last command, when it does the command's work), until it succeeds,
 * is benign (its state check holds), or recovery gives up; at most six attempts.
 */
export async function recoverLive(
  command: string,
  failed: CommandResult,
  options: ShellCommandOptions,
  advise: (request: RecoverRequest) => Promise<RecoverReply | { give: string; patternId: string }>,
): Promise<LiveOutcome> {
  const tried: RecoverRequest['tried'] = [];
  const strategies: string[] = [];
  let last = failed;
  for (let attempt = 0; attempt < 6; attempt++) {
    const request: RecoverRequest = {
      runId: 'r',
      taskId: '1',
      workdir: options.cwd,
      commandId: 'c1',
      command,
      exitCode: last.exitCode,
      timedOut: last.timedOut,
      stdoutTail: last.stdoutTail,
      stderrTail: last.stderrTail,
      attempt,
      tried,
      llm: 'offline',
    };
    const reply = await advise(request);
    if ('give' in reply) return { outcome: 'escalated', patternId: reply.patternId, strategies, why: reply.give };
    if (reply.decision === 'give-up') return { outcome: 'escalated', patternId: '', strategies, why: reply.reason };
    if (reply.decision === 'benign') {
      // Benign only when its state check holds, as the executor runs it.
      if ((await runShellCommand(reply.holds, options)).exitCode === 0)
        return { outcome: 'benign', patternId: reply.patternId, strategies };
      tried.push({ strategyId: reply.strategyId, fingerprint: failureFingerprint(last) });
      continue;
    }
    strategies.push(reply.strategyId);
    // A fix command that fails leaves the command's failure as it was; a retry (or the command the
    // fix does instead) that fails is the failure recovery sees next.
    let fixFailed: CommandResult | undefined;
    for (const fix of reply.commands.slice(0, reply.retry ? undefined : -1)) {
      const result = await runShellCommand(fix, options);
      if (result.exitCode !== 0) {
        fixFailed = result;
        break;
      }
    }
    if (fixFailed) {
      tried.push({ strategyId: reply.strategyId, fingerprint: failureFingerprint(fixFailed) });
      continue;
    }
    const again = await runShellCommand(reply.retry ? command : reply.commands.at(-1)!, options);
    if (again.exitCode === 0) return { outcome: 'recovered', patternId: reply.patternId ?? '', strategies };
    tried.push({ strategyId: reply.strategyId, fingerprint: failureFingerprint(again) });
    last = again;
  }
  return { outcome: 'escalated', patternId: '', strategies, why: 'recovery did not settle in 6 attempts' };
}
