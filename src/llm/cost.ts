import type { RunBudget } from '../events/run-options.ts';
import { InputError } from '../errors.ts';

/** Reading a budget as people write it; what tokens cost and when a budget is spent: projections/llm-usage.ts. */

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
