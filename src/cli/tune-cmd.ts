import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { evolveRecoveryStats, initialRecoveryStats } from '../projections/recovery-stats.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../recovery/pattern-db.ts';
import { MIN_ATTEMPTS, collectFailures, compareDatabases, evidenced, reorderByStatistics } from '../recovery/tune.ts';
import { withRuntime } from './nats-session.ts';
import { colours } from './progress.ts';
import { meaningfulLine } from '../exec/output-summary.ts';
import { out } from './terminal.ts';

/**
 * `implement-agent tune --patterns FILE [--apply]`: every recorded failure replayed against the
 * current pattern database and the candidate, side by side; `--apply` writes the candidate back
 * with its strategies reordered by the recorded statistics.
 */
export async function tuneCommand(flags: { patterns: string; apply?: boolean; json?: boolean }): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  const candidatePath = resolve(cwd, flags.patterns);
  const candidate = await PatternDb.load(candidatePath);
  const current = await PatternDb.load(config.recovery.patternsFile ?? DEFAULT_PATTERNS_FILE);
  const events = await withRuntime(config, cwd, 'tune', (rt) => rt.store.read());
  const stats = events.reduce(evolveRecoveryStats, initialRecoveryStats());
  const report = compareDatabases(collectFailures(events), current, candidate);
  const write = out;
  if (flags.json) {
    write(JSON.stringify({ ...report, rows: report.rows.length }, null, 2));
  } else {
    write(
      colours.bold(
        `${report.rows.length} recorded failure(s): current ${current.patterns.length} patterns vs candidate ${candidate.patterns.length} (${flags.patterns})`,
      ),
    );
    write(`${'failure'.padEnd(52)} ${'current'.padEnd(26)} ${'candidate'.padEnd(26)} recorded outcome`);
    for (const r of report.rows) {
      const last = meaningfulLine(r.failure.stderrTail, r.failure.stdoutTail);
      const outcome = r.failure.outcome
        ? `${r.failure.outcome.resolved ? 'fixed by' : 'not fixed by'} ${r.failure.outcome.strategyId}${r.candidateWouldFix ? ' (candidate keeps it)' : ''}`
        : 'no recovery recorded';
      const cand = r.candidate ?? '-';
      const mark =
        r.current && !r.candidate ? colours.red(cand) : r.current !== r.candidate ? colours.yellow(cand) : cand;
      write(
        `${`${r.failure.command.split('\n')[0]!.slice(0, 24)}: ${last.slice(0, 24)}`.padEnd(52)} ${(r.current ?? '-').padEnd(26)} ${mark.padEnd(26)} ${outcome}`,
      );
    }
    write('');
    write(
      `lost matches: ${report.lost.length}${report.lost.length ? ` (${[...new Set(report.lost.map((r) => r.current))].join(', ')})` : ''}`,
    );
    write(
      `new matches: ${report.gained.length}; changed pattern: ${report.changed.length}; gaps (neither matches): ${report.gaps.length}`,
    );
    const reordered = reorderByStatistics(candidate.file, stats);
    const moves = reordered.patterns.filter(
      (p, i) => p.strategies.map((s) => s.id).join() !== candidate.patterns[i]!.strategies.map((s) => s.id).join(),
    );
    const known = evidenced(candidate.file, stats);
    const attempts = (key: string) =>
      `${stats.strategies[key]?.successes ?? 0}/${stats.strategies[key]?.attempts ?? 0}`;
    write(
      `strategies with at least ${MIN_ATTEMPTS} recorded attempts: ${known.length ? known.map((k) => `${k} (${attempts(k)} resolved)`).join(', ') : `none: nothing to go on, the order stays as written`}`,
    );
    write(
      `strategy order the statistics suggest: ${moves.length ? moves.map((p) => `${p.id}: ${p.strategies.map((s) => s.id).join(' > ')}`).join('; ') : 'unchanged'}`,
    );
  }
  if (flags.apply) {
    await writeFile(candidatePath, `${JSON.stringify(reorderByStatistics(candidate.file, stats), null, 2)}\n`);
    write(`wrote ${candidatePath}`);
  }
  return 0;
}
