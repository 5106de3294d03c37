import type { StoredEvent } from '../events/agent-events.ts';
import type { RecoveryStats } from '../projections/recovery-stats.ts';
import type { PatternDb, PatternFile } from './pattern-db.ts';
import type { Failure } from '../events/failure.ts';
import { stateKeys, strategyIds } from '../events/ids.ts';

export type RecordedFailure = Failure & {
  seq: number;
  runId: string;
  taskId: string;
  commandId: string;
  /** The first recorded recovery outcome for this failure. */
  outcome?: { strategyId: string; resolved: boolean };
};

/** Every failed planned command in the log, with what recovery then did about it. */
export function collectFailures(events: readonly StoredEvent[]): RecordedFailure[] {
  const failures: RecordedFailure[] = [];
  const open = new Map<string, RecordedFailure>();
  for (const e of events) {
    if (e.type === 'CommandFinished' && e.data.purpose === 'plan' && (e.data.exitCode !== 0 || e.data.timedOut)) {
      const f: RecordedFailure = {
        seq: e.seq,
        runId: e.runId,
        taskId: e.taskId ?? '',
        commandId: e.data.commandId,
        command: e.data.command,
        exitCode: e.data.exitCode,
        timedOut: e.data.timedOut,
        stdoutTail: e.data.stdoutTail,
        stderrTail: e.data.stderrTail,
      };
      failures.push(f);
      open.set(stateKeys.command(e.runId, e.taskId, e.data.commandId), f);
    }
    if (e.type === 'RecoveryResolved' || e.type === 'RecoveryFailed') {
      const key = stateKeys.command(e.runId, e.taskId, e.data.commandId);
      const f = open.get(key);
      if (f && !f.outcome) f.outcome = { strategyId: e.data.strategyId, resolved: e.type === 'RecoveryResolved' };
      open.delete(key);
    }
  }
  return failures;
}

export type Comparison = {
  failure: RecordedFailure;
  current?: string;
  candidate?: string;
  /** The recorded fix worked and the candidate would choose among that pattern's strategies. */
  candidateWouldFix: boolean;
};

export type TuneReport = {
  rows: Comparison[];
  lost: Comparison[];
  gained: Comparison[];
  changed: Comparison[];
  gaps: Comparison[];
};

/** Replays recorded failures against the current and a candidate pattern database. */
export function compareDatabases(
  failures: readonly RecordedFailure[],
  current: PatternDb,
  candidate: PatternDb,
): TuneReport {
  const rows = failures.map((failure) => {
    const cur = current.match(failure)[0];
    const cand = candidate.match(failure)[0];
    const recorded = failure.outcome;
    const candidateWouldFix =
      !!cand &&
      !!recorded?.resolved &&
      (recorded.strategyId === strategyIds.benign(cand.pattern.id) ||
        cand.pattern.strategies.some((s) => strategyIds.pattern(cand.pattern.id, s.id) === recorded.strategyId));
    return {
      failure,
      ...(cur ? { current: cur.pattern.id } : {}),
      ...(cand ? { candidate: cand.pattern.id } : {}),
      candidateWouldFix,
    };
  });
  return {
    rows,
    lost: rows.filter((r) => r.current && !r.candidate),
    gained: rows.filter((r) => !r.current && r.candidate),
    changed: rows.filter((r) => r.current && r.candidate && r.current !== r.candidate),
    gaps: rows.filter((r) => !r.current && !r.candidate),
  };
}

/** Recorded attempts a strategy needs before `tune` moves it: fewer is not evidence. */
export const MIN_ATTEMPTS = 5;
const RISK = { low: 0, medium: 1, high: 2 } as const;

/** The strategies with enough recorded attempts to be reordered on, by `pattern/strategy` id. */
export function evidenced(file: PatternFile, stats: RecoveryStats): string[] {
  return file.patterns
    .flatMap((p) => p.strategies.map((s) => strategyIds.pattern(p.id, s.id)))
    .filter((key) => (stats.strategies[key]?.attempts ?? 0) >= MIN_ATTEMPTS);
}

/**
 * The candidate file with strategies reordered on recorded outcomes only: among the strategies of
 * a pattern with at least MIN_ATTEMPTS attempts each, the higher observed success rate first, and
 * on equal rates the less risky first; every other strategy keeps its place. Declared priors
 * alone never move anything (they are what the order already says).
 */
export function reorderByStatistics(file: PatternFile, stats: RecoveryStats): PatternFile {
  const enough = new Set(evidenced(file, stats));
  return {
    ...file,
    patterns: file.patterns.map((p) => {
      const movable = p.strategies
        .map((s, i) => ({ s, i }))
        .filter(({ s }) => enough.has(strategyIds.pattern(p.id, s.id)));
      if (movable.length < 2) return p;
      const rate = (id: string) => {
        const st = stats.strategies[strategyIds.pattern(p.id, id)]!;
        return st.successes / st.attempts;
      };
      const sorted = [...movable].sort(
        (a, b) => rate(b.s.id) - rate(a.s.id) || RISK[a.s.risk] - RISK[b.s.risk] || a.i - b.i,
      );
      const strategies = [...p.strategies];
      movable.forEach(({ i }, k) => (strategies[i] = sorted[k]!.s));
      return { ...p, strategies };
    }),
  };
}
