import type { StoredEvent } from '../events/agent-events.ts';
import type { Pricing, RunBudget } from '../events/run-options.ts';

/** The fold of LlmCalled events into tokens and money, per run or task, and when a run's budget is spent. */

/** Tokens of a run or a task, summed from its LlmCalled events. */
export type LlmUsage = { calls: number; promptTokens: number; cachedTokens: number; completionTokens: number };
export const noUsage = (): LlmUsage => ({ calls: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0 });

export function addUsage(
  usage: LlmUsage,
  call: { promptTokens?: number | undefined; completionTokens?: number | undefined; cachedTokens?: number | undefined },
): void {
  usage.calls++;
  usage.promptTokens += call.promptTokens ?? 0;
  usage.completionTokens += call.completionTokens ?? 0;
  usage.cachedTokens += call.cachedTokens ?? 0;
}

export const totalTokens = (u: LlmUsage) => u.promptTokens + u.completionTokens;

/** Usage per task (`''` for calls of the run itself) and in all, as LlmCalled events come. */
export class UsageTally {
  readonly total = noUsage();
  readonly byTask = new Map<string, LlmUsage>();

  see(e: StoredEvent): void {
    if (e.type !== 'LlmCalled') return;
    addUsage(this.total, e.data);
    const key = e.taskId ?? '';
    let task = this.byTask.get(key);
    if (!task) this.byTask.set(key, (task = noUsage()));
    addUsage(task, e.data);
  }
}

/** What a task spent, to follow its line (` · 1,234 tokens`); nothing when it spent none. */
export const tokensNote = (u: LlmUsage | undefined): string =>
  u && totalTokens(u) > 0 ? ` · ${totalTokens(u).toLocaleString('en-US')} tokens` : '';

/** What the tokens cost, in US dollars; cached prompt tokens at the input price when no cached price is set. */
export function costUsd(u: LlmUsage, pricing: Pricing): number {
  const cached = Math.min(u.cachedTokens, u.promptTokens);
  return (
    ((u.promptTokens - cached) * pricing.inputPerMTok +
      cached * (pricing.cachedInputPerMTok ?? pricing.inputPerMTok) +
      u.completionTokens * pricing.outputPerMTok) /
    1_000_000
  );
}

/** One line for people: `12,345 tokens (10,000 prompt, 4,000 of them cached, 2,345 completion), $0.0123`. */
export function usageLine(u: LlmUsage, pricing?: Pricing): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const money = pricing ? `, ${usd(costUsd(u, pricing))}` : '';
  return `${n(totalTokens(u))} tokens (${n(u.promptTokens)} prompt${u.cachedTokens ? `, ${n(u.cachedTokens)} of them cached` : ''}, ${n(u.completionTokens)} completion)${money}`;
}

export const usd = (x: number) => `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;

export const budgetText = (b: RunBudget) =>
  [b.tokens !== undefined ? `${b.tokens.toLocaleString('en-US')} tokens` : '', b.usd !== undefined ? usd(b.usd) : '']
    .filter(Boolean)
    .join(' and ');

/** Why the run may not ask the LLM any more, when its budget is spent. */
export function budgetSpent(
  u: LlmUsage,
  budget: RunBudget | undefined,
  pricing: Pricing | undefined,
): string | undefined {
  if (!budget) return undefined;
  if (budget.tokens !== undefined && totalTokens(u) >= budget.tokens) {
    return `the run's LLM budget of ${budget.tokens.toLocaleString('en-US')} tokens is spent (${totalTokens(u).toLocaleString('en-US')} used)`;
  }
  if (budget.usd !== undefined && pricing && costUsd(u, pricing) >= budget.usd) {
    return `the run's LLM budget of ${usd(budget.usd)} is spent (${usd(costUsd(u, pricing))} used)`;
  }
  return undefined;
}
