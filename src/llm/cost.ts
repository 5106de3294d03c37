import { z } from 'zod';
import type { RunBudget } from '../events/agent-events.ts';
import { InputError } from '../errors.ts';

/** US dollars per million tokens; cached prompt tokens at their own price when the provider has one. */
export const PricingSchema = z
  .object({
    inputPerMTok: z.number().nonnegative(),
    cachedInputPerMTok: z.number().nonnegative().optional(),
    outputPerMTok: z.number().nonnegative(),
  })
  .strict();
export type Pricing = z.infer<typeof PricingSchema>;

/** Tokens of a run or a task, summed from its LlmCalled events. */
export type LlmUsage = { calls: number; promptTokens: number; cachedTokens: number; completionTokens: number };
export const noUsage = (): LlmUsage => ({ calls: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0 });

export function addUsage(usage: LlmUsage, call: { promptTokens?: number | undefined; completionTokens?: number | undefined; cachedTokens?: number | undefined }): void {
  usage.calls++;
  usage.promptTokens += call.promptTokens ?? 0;
  usage.completionTokens += call.completionTokens ?? 0;
  usage.cachedTokens += call.cachedTokens ?? 0;
}

export const totalTokens = (u: LlmUsage) => u.promptTokens + u.completionTokens;

/** What the tokens cost, in US dollars; cached prompt tokens at the input price when no cached price is set. */
export function costUsd(u: LlmUsage, pricing: Pricing): number {
  const cached = Math.min(u.cachedTokens, u.promptTokens);
  return (
    ((u.promptTokens - cached) * pricing.inputPerMTok + cached * (pricing.cachedInputPerMTok ?? pricing.inputPerMTok) + u.completionTokens * pricing.outputPerMTok) /
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

/** Why the run may not ask the LLM any more, when its budget is spent. */
export function budgetSpent(u: LlmUsage, budget: RunBudget | undefined, pricing: Pricing | undefined): string | undefined {
  if (!budget) return undefined;
  if (budget.tokens !== undefined && totalTokens(u) >= budget.tokens) {
    return `the run's LLM budget of ${budget.tokens.toLocaleString('en-US')} tokens is spent (${totalTokens(u).toLocaleString('en-US')} used)`;
  }
  if (budget.usd !== undefined && pricing && costUsd(u, pricing) >= budget.usd) {
    return `the run's LLM budget of ${usd(budget.usd)} is spent (${usd(costUsd(u, pricing))} used)`;
  }
  return undefined;
}

/** `--budget 50000` (tokens), `--budget 50k`, `--budget $2` or `--budget 2usd` (US dollars, needs llm.pricing). */
export function parseBudget(text: string): RunBudget {
  const money = /^\s*(?:\$\s*([0-9]*\.?[0-9]+)|([0-9]*\.?[0-9]+)\s*(?:usd|\$))\s*$/i.exec(text);
  if (money) return { usd: Number(money[1] ?? money[2]) };
  const tokens = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([km]?)\s*(?:tokens?)?\s*$/i.exec(text);
  if (tokens) {
    const scale = { '': 1, k: 1_000, m: 1_000_000 }[tokens[2]!.toLowerCase() as '' | 'k' | 'm'];
    const value = Math.round(Number(tokens[1]) * scale);
    if (value > 0) return { tokens: value };
  }
  throw new InputError(`--budget ${JSON.stringify(text)}: give tokens (50000, 50k, 1.5m) or US dollars ($2, 2usd)`);
}
