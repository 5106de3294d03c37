import { failureKey } from '../events/failure.ts';
import { strategyIds } from '../events/ids.ts';
import type { RecoverReply, RecoverRequest } from '../events/work-commands.ts';
import { checkCommand } from '../exec/policy.ts';
import { posterior, type RecoveryStats } from '../projections/recovery-stats.ts';
import { STRATEGY_EFFECTS, forbiddenEffects, type StrategyEffect } from './effects.ts';
import { failureFingerprint } from './fingerprint.ts';
import type { Match, PatternDb, Strategy } from './pattern-db.ts';
import { fillPlaceholders, fillText } from './placeholders.ts';
import { meaningfulLine } from '../exec/output-summary.ts';

export type ChooseOptions = {
  /** Policy rules the configuration allows (policy.allow). */
  allow: readonly string[];
  /** Strategy effects the configuration allows beyond the default ones (recovery.allow). */
  allowEffects: readonly StrategyEffect[];
  patternAttemptsBeforeLlm: number;
};

/** The pattern stage's verdict: a reply, or "ask the LLM" with what the patterns could say. */
export type Choice = { kind: 'reply'; reply: RecoverReply } | { kind: 'llm'; why: string };

/**
 * Recovery without an LLM: match the failure against the pattern database and pick the first
 * applicable strategy, most likely first (the declared prior moved by observed outcomes). A
 * strategy already tried on this command, or one the policy would deny, is passed over.
 */
export function choosePatternRecovery(
  request: RecoverRequest,
  db: PatternDb,
  stats: RecoveryStats,
  options: ChooseOptions,
): Choice {
  const matches = db.match(request);
  const tried = new Set(request.tried.map((t) => t.strategyId));
  const patternAttempts = request.tried.filter((t) => !strategyIds.isLlm(t.strategyId)).length;
  const blocked: string[] = [];
  let passedOver: Match | undefined;

  for (const match of matches) {
    if (match.pattern.kind === 'benign') {
      // Benign only once the state shows it: without a check (or one its captures cannot fill), never.
      const strategyId = strategyIds.benign(match.pattern.id);
      const holds =
        match.pattern.holds === undefined ? undefined : fillPlaceholders(match.pattern.holds, match.captures);
      if (holds !== undefined && !tried.has(strategyId))
        return { kind: 'reply', reply: { decision: 'benign', patternId: match.pattern.id, strategyId, holds } };
      continue;
    }
    // A fix passed over because it is not allowed says more than a later, generic escalation
    // (the user can allow it); a fix that was tried and failed does not.
    if (match.pattern.kind === 'escalate')
      return {
        kind: 'llm',
        why: passedOver && blocked.length ? explain(passedOver, blocked, matches) : diagnose(match),
      };
    if (patternAttempts >= options.patternAttemptsBeforeLlm) {
      return { kind: 'llm', why: `${diagnose(match)}; ${patternAttempts} pattern strategies failed` };
    }
    const ranked = [...match.pattern.strategies].sort(
      (a, b) =>
        posterior(b.prior, stats.strategies[strategyIds.pattern(match.pattern.id, b.id)]) -
        posterior(a.prior, stats.strategies[strategyIds.pattern(match.pattern.id, a.id)]),
    );
    passedOver ??= match;
    for (const strategy of ranked) {
      const strategyId = strategyIds.pattern(match.pattern.id, strategy.id);
      if (tried.has(strategyId)) continue;
      const forbidden = forbiddenEffects(strategy.effects, options.allowEffects);
      if (forbidden.length) {
        blocked.push(
          `${strategyId} ${forbidden.map((e) => STRATEGY_EFFECTS[e]).join(' and ')} (allow it with recovery.allow: ${JSON.stringify(forbidden)})`,
        );
        continue;
      }
      const commands = strategyCommands(strategy, match, request.command);
      if (!commands || !allowed(commands, options.allow)) continue;
      return {
        kind: 'reply',
        reply: {
          decision: 'fix',
          patternId: match.pattern.id,
          strategyId,
          source: stats.strategies[strategyId] ? 'learned' : 'pattern',
          commands,
          retry: strategy.retry && !strategy.rewrite,
          diagnosis: fillText(match.pattern.description, match.captures),
        },
      };
    }
  }
  const last = meaningfulLine(request.stderrTail, request.stdoutTail);
  if (!matches[0]) return { kind: 'llm', why: `no error pattern matches "${last.slice(0, 200)}"` };
  return { kind: 'llm', why: explain(passedOver ?? matches[0], blocked, matches) };
}

function explain(match: Match, blocked: readonly string[], matches: readonly Match[]): string {
  const fixes = matches.filter((m) => m.pattern.kind === 'fix').map((m) => m.pattern.id);
  return `${diagnose(match)}; ${blocked.length ? `not tried: ${blocked.join('; ')}` : `the strategies of ${fixes.join(', ')} are exhausted`}`;
}

/** The pattern's one-line diagnosis with its captures, and what a person could run. */
function diagnose(match: Match): string {
  const text = `${match.pattern.id}: ${fillText(match.pattern.description, match.captures)}`;
  const suggestion =
    match.pattern.suggest === undefined ? undefined : fillPlaceholders(match.pattern.suggest, match.captures);
  return suggestion ? `${text} (to fix it by hand: \`${suggestion}\`)` : text;
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
      // `{name}` in `find` is the capture, matched literally: a tool's suggestion names the word it replaces.
      const pattern = find.replace(/\{([a-z]+)\}/g, (_, name: string) =>
        (match.captures[name] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      );
      rewritten = rewritten.replace(new RegExp(pattern, 'm'), filled);
    }
    if (rewritten === original) return undefined;
    commands.push(rewritten);
  }
  return commands;
}

/** Whether the policy lets every command of a fix run (a fix is tried whole or not at all). */
const allowed = (commands: readonly string[], allow: readonly string[]) =>
  commands.every((c) => checkCommand(c, allow).allowed);

/** Loop detection: the same fix, the same failure again. */
export function isLoop(request: RecoverRequest, strategyId: string): boolean {
  const fp = failureFingerprint({
    exitCode: request.exitCode,
    timedOut: request.timedOut,
    stdoutTail: request.stdoutTail,
    stderrTail: request.stderrTail,
  });
  return request.tried.some((t) => t.strategyId === strategyId && t.fingerprint === fp);
}

/**
 * The fix an LLM gave the last time this command failed this way, when it resolved the failure
 * more often than not and has not been tried on this failure yet: no LLM call for a failure the
 * log has seen fixed. Its commands go through the policy again (the configuration may have changed).
 */
export function learnedFix(
  request: RecoverRequest,
  stats: RecoveryStats,
  allow: readonly string[],
): RecoverReply | undefined {
  const fix = stats.learned[failureKey(request)];
  if (!fix || fix.failures >= fix.successes) return undefined;
  if (request.tried.some((t) => t.strategyId === fix.strategyId)) return undefined;
  if (!allowed(fix.commands, allow)) return undefined;
  return {
    decision: 'fix',
    strategyId: fix.strategyId,
    source: 'learned',
    commands: fix.commands,
    retry: fix.retry,
    diagnosis: `fixed this way before (${fix.successes} time${fix.successes === 1 ? '' : 's'}, by an LLM's fix)`,
  };
}
