import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { strategyIds } from '../events/ids.ts';
import { foldTogether, projectionCatalog } from '../projections/catalog.ts';
import type { LlmCapabilities } from '../projections/llm-capabilities.ts';
import type { PlanCache } from '../projections/plan-cache.ts';
import { posterior, type RecoveryStats } from '../projections/recovery-stats.ts';
import type { TaskHistory } from '../projections/task-history.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../recovery/pattern-db.ts';
import { withRuntime } from './nats-session.ts';
import { colours } from './progress.ts';
import { taskLabel } from '../tasklist/task-spec.ts';
import { out, outJson } from './terminal.ts';

/**
 * `implement-agent replay [--from SEQ] [--projection P] [--json]`: rebuilds projections from the
 * log (no snapshot, nothing executed) and prints their state.
 */
export async function replayCommand(flags: { from?: number; projection?: string; json?: boolean }): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  const catalog = projectionCatalog({ maxCacheEntries: config.cache.maxEntries });
  const names = flags.projection ? [flags.projection] : Object.keys(catalog);
  for (const n of names)
    if (!catalog[n]) throw new InputError(`unknown projection "${n}"; projections: ${Object.keys(catalog).join(', ')}`);
  return withRuntime(config, cwd, 'replay', async (rt) => {
    const { states, evolve } = foldTogether(Object.fromEntries(names.map((n) => [n, catalog[n]!])));
    let count = 0;
    const started = performance.now();
    await rt.store.scan({ ...(flags.from ? { fromSeq: flags.from } : {}) }, (e) => {
      count++;
      evolve(e);
    });
    const seconds = (performance.now() - started) / 1000;
    if (flags.json) {
      outJson({ events: count, projections: states }, 2);
      return 0;
    }
    const write = out;
    write(
      colours.bold(`replayed ${count} event(s) in ${seconds.toFixed(2)} s${flags.from ? ` from #${flags.from}` : ''}`),
    );
    const patterns = await PatternDb.load(config.recovery.patternsFile ?? DEFAULT_PATTERNS_FILE).catch(() => undefined);
    for (const n of names) {
      write('');
      write(colours.bold(n));
      if (n === 'plan-cache') printCache(states[n] as PlanCache, write);
      if (n === 'recovery-stats') printStats(states[n] as RecoveryStats, patterns, write);
      if (n === 'task-history') printHistory(states[n] as TaskHistory, write);
      if (n === 'llm-capabilities') printCapabilities(states[n] as LlmCapabilities, write);
    }
    return 0;
  });
}

function printCache(cache: PlanCache, write: (l: string) => void) {
  const entries = Object.values(cache.entries);
  write(
    `  ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${Object.keys(cache.pending).length} plan(s) awaiting their task's outcome, ${Object.keys(cache.drafts).length} drafted by run --dry --plan (unproven)`,
  );
  for (const e of entries)
    write(`  ${e.key}  ${e.plan.commands.length} cmd  ${e.successes} ok  ${e.taskText.split('\n')[0]}`);
}

function printStats(stats: RecoveryStats, patterns: PatternDb | undefined, write: (l: string) => void) {
  const rows = Object.entries(stats.strategies).map(([id, s]) => {
    const { patternId, strategyId } = strategyIds.parse(id);
    const prior = patterns?.patterns
      .find((p) => p.id === patternId)
      ?.strategies.find((x) => x.id === strategyId)?.prior;
    return { id, ...s, posterior: prior === undefined ? undefined : posterior(prior, s) };
  });
  if (rows.length === 0) write('  no recovery outcomes recorded');
  const learned = Object.values(stats.learned);
  if (learned.length)
    write(
      `  ${learned.length} LLM fix(es) learned, offered again when the same command fails the same way (${learned.filter((f) => f.failures >= f.successes).length} retired: failed as often as they worked)`,
    );
  for (const r of rows.sort((a, b) => a.id.localeCompare(b.id))) {
    write(
      `  ${r.id.padEnd(48)} ${String(r.successes).padStart(4)}/${String(r.attempts).padEnd(4)} ok${r.posterior !== undefined ? `  posterior ${r.posterior.toFixed(2)}` : ''}`,
    );
  }
}

function printCapabilities(caps: LlmCapabilities, write: (l: string) => void) {
  const keys = Object.keys(caps);
  if (keys.length === 0) write('  no endpoint has refused anything yet');
  for (const key of keys) write(`  ${key}: ${caps[key]!.map((l) => `${l.setting} = ${l.value}`).join(', ')}`);
}

function printHistory(history: TaskHistory, write: (l: string) => void) {
  const counts = { completed: 0, failed: 0, skipped: 0 };
  for (const e of history.entries) counts[e.outcome]++;
  write(
    `  ${history.entries.length} task outcome(s): ${counts.completed} completed, ${counts.failed} failed, ${counts.skipped} skipped; ${Object.keys(history.open).length} open`,
  );
  for (const [workdir, note] of Object.entries(history.projects)) {
    write(
      `  project ${workdir}: ${note.runs} run(s), last ${note.lastRunId} ${note.lastStatus ?? 'unfinished'}, ${note.completed} task(s) completed, ${note.failed} failed`,
    );
  }
  write(
    `  ${history.recoveries.length} recover${history.recoveries.length === 1 ? 'y' : 'ies'} that worked${
      history.recoveries.length
        ? `, latest: ${history.recoveries
            .slice(-3)
            .map((r) => r.strategyId)
            .join(', ')}`
        : ''
    }`,
  );
  for (const e of history.entries.slice(-15)) {
    const mark =
      e.outcome === 'completed' ? colours.green('✓') : e.outcome === 'failed' ? colours.red('✗') : colours.yellow('-');
    write(
      `  ${mark} ${e.runId} ${taskLabel(e.taskId, e.title)}${e.reason ? colours.dim(` (${e.reason.slice(0, 100)})`) : ''}`,
    );
  }
}
