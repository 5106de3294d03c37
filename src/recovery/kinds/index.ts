import type { RecoverReply, RecoverRequest } from '../../events/work-commands.ts';
import { strategyIds } from '../../events/ids.ts';
import type { KindStrategy } from './kind.ts';
import { lineEndings } from './line-endings.ts';
import { optionDialect } from './option-dialect.ts';
import type { Probe } from './probe.ts';
import { quoting } from './quoting.ts';
import { searchPath } from './search-path.ts';
import { setupStep } from './setup-step.ts';
import { staleState } from './stale-state.ts';
import { wrongProgram } from './wrong-program.ts';

/** The strategies per kind of mistake, tried in this order after the pattern database has no fix. */
const KIND_STRATEGIES: readonly KindStrategy[] = [
  lineEndings,
  quoting,
  wrongProgram,
  searchPath,
  setupStep,
  optionDialect,
  staleState,
];

/** The pattern id a kind's fix is recorded under (`kind-search-path`): the recovery statistics count it like a pattern's. */
const kindPatternId = (kind: string) => `kind-${kind}`;

/** The first fix a strategy per kind proposes that was not tried already for this command, as a recoverer's reply. */
export function kindRecovery(request: RecoverRequest, probe: Probe): RecoverReply | undefined {
  const tried = new Set(request.tried.map((t) => t.strategyId));
  for (const strategy of KIND_STRATEGIES) {
    const fix = strategy(request, probe);
    if (!fix) continue;
    const patternId = kindPatternId(fix.kind);
    const strategyId = strategyIds.pattern(patternId, fix.variant);
    if (tried.has(strategyId)) continue;
    return {
      decision: 'fix',
      patternId,
      strategyId,
      source: 'pattern',
      commands: fix.commands,
      retry: fix.retry,
      diagnosis: fix.diagnosis,
    };
  }
  return undefined;
}
