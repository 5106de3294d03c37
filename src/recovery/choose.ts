import type { RecoverReply, RecoverRequest } from '../events/work-commands.ts';
import { checkCommand } from '../exec/policy.ts';
import { posterior, type RecoveryStats } from '../projections/recovery-stats.ts';
import { failureFingerprint } from './fingerprint.ts';
import type { Match, PatternDb, Strategy } from './pattern-db.ts';
import { fillPlaceholders } from './placeholders.ts';

export type ChooseOptions = { allow: readonly string[]; patternAttemptsBeforeLlm: number };

/** The pattern stage's verdict: a reply, or "ask the LLM" with what the patterns could say. */
export type Choice = { kind: 'reply'; reply: RecoverReply } | { kind: 'llm'; why: string };

/**
 * Recovery without an LLM: match the failure against the pattern database and pick the first
 * applicable strategy, most likely first (the declared prior moved by observed outcomes). A
 * strategy already tried on this command, or one the policy would deny, is passed over.
 */
export function choosePatternRecovery(request: RecoverRequest, db: PatternDb, stats: RecoveryStats, options: ChooseOptions): Choice {
  const matches = db.match({
    command: request.command,
    exitCode: request.exitCode,
    stdout: request.stdoutTail,
    stderr: request.stderrTail,
    timedOut: request.timedOut,
  });
  const tried = new Set(request.tried.map((t) => t.strategyId));
  const patternAttempts = request.tried.filter((t) => !t.strategyId.startsWith('llm/')).length;

  for (const match of matches) {
    if (match.pattern.kind === 'benign') {
      const strategyId = `${match.pattern.id}/benign`;
      if (!tried.has(strategyId)) return { kind: 'reply', reply: { decision: 'benign', patternId: match.pattern.id, strategyId } };
      continue;
    }
    if (match.pattern.kind === 'escalate') return { kind: 'llm', why: `${match.pattern.id}: ${match.pattern.description}` };
    if (patternAttempts >= options.patternAttemptsBeforeLlm) {
      return { kind: 'llm', why: `${patternAttempts} pattern strategies failed` };
    }
    const ranked = [...match.pattern.strategies].sort(
      (a, b) => posterior(b.prior, stats.strategies[`${match.pattern.id}/${b.id}`]) - posterior(a.prior, stats.strategies[`${match.pattern.id}/${a.id}`]),
    );
    for (const strategy of ranked) {
      const strategyId = `${match.pattern.id}/${strategy.id}`;
      if (tried.has(strategyId)) continue;
      const commands = strategyCommands(strategy, match, request.command);
      if (!commands || commands.some((c) => !checkCommand(c, options.allow).allowed)) continue;
      return {
        kind: 'reply',
        reply: {
          decision: 'fix',
          patternId: match.pattern.id,
          strategyId,
          source: stats.strategies[strategyId] ? 'learned' : 'pattern',
          commands,
          retry: strategy.retry && !strategy.rewrite,
          diagnosis: match.pattern.description,
        },
      };
    }
  }
  const last = (request.stderrTail || request.stdoutTail).trim().split('\n').at(-1) ?? '';
  return { kind: 'llm', why: matches.length ? `the strategies of ${matches.map((m) => m.pattern.id).join(', ')} are exhausted or not allowed` : `no error pattern matches "${last.slice(0, 200)}"` };
}

/** The fix commands, then the rewritten original command when the strategy rewrites it. */
function strategyCommands(strategy: Strategy, match: Match, original: string): string[] | undefined {
  const commands: string[] = [];
  for (const template of strategy.commands) {
    const filled = fillPlaceholders(template, match.captures);
    if (filled === undefined) return undefined;
    commands.push(filled);
  }
  if (strategy.rewrite) {
    let rewritten = original;
    for (const { find, replace } of strategy.rewrite) {
      const filled = fillPlaceholders(replace, match.captures);
      if (filled === undefined) return undefined;
      rewritten = rewritten.replace(new RegExp(find, 'm'), filled);
    }
    if (rewritten === original) return undefined;
    commands.push(rewritten);
  }
  return commands;
}

/** Loop detection: the same fix, the same failure again. */
export function isLoop(request: RecoverRequest, strategyId: string): boolean {
  const fp = failureFingerprint({ exitCode: request.exitCode, timedOut: request.timedOut, stdoutTail: request.stdoutTail, stderrTail: request.stderrTail });
  return request.tried.some((t) => t.strategyId === strategyId && t.fingerprint === fp);
}
