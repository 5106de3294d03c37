import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';
import { failureKey } from '../events/failure.ts';
import { stateKeys, strategyIds } from '../events/ids.ts';
import type { Projection } from './projection.ts';

export type StrategyStats = { attempts: number; successes: number };
/** An LLM's fix that resolved a failure: offered again, without asking, when the same failure recurs. */
export type LearnedFix = {
  strategyId: string;
  commands: string[];
  retry: boolean;
  successes: number;
  failures: number;
  lastSeq: number;
};
type Trying = { failureKey: string; strategyId: string; commands: string[]; retry: boolean };

export type RecoveryStats = {
  /** Outcomes per strategy (ids are `pattern/strategy`, or `llm/...`). */
  strategies: Record<string, StrategyStats>;
  /** LLM fixes that resolved a failure, by the failure's key (`failureKey`: the command and how it failed). */
  learned: Record<string, LearnedFix>;
  /** The key of each planned command's latest failure, until its recovery comes out or its task ends. */
  failing: Record<string, string>;
  /** The LLM fix of each recovery attempt in flight, and the failure it answers. */
  trying: Record<string, Trying>;
};

export const RECOVERY_STATS = { name: 'recovery-stats', version: 2 } as const;
export const initialRecoveryStats = (): RecoveryStats => ({ strategies: {}, learned: {}, failing: {}, trying: {} });

/** How much the declared prior weighs, in observations. */
const PRIOR_WEIGHT = 2;
/** Learned fixes kept; the one used longest ago goes first. */
const MAX_LEARNED = 1000;

/** Outcomes per strategy, and the LLM fixes that worked, from the command and recovery events. */
export const evolveRecoveryStats = (state: RecoveryStats, event: StoredEvent): RecoveryStats => {
  switch (event.type) {
    case 'CommandFinished': {
      const { data } = event;
      if (data.purpose !== 'plan' || (data.exitCode === 0 && !data.timedOut)) return state;
      return produce(state, (d) => {
        d.failing[stateKeys.command(event.runId, event.taskId, data.commandId)] = failureKey(data);
      });
    }
    case 'RecoveryAttempted': {
      const { data } = event;
      const failing = state.failing[stateKeys.command(event.runId, event.taskId, data.commandId)];
      if (!strategyIds.isLlm(data.strategyId) || failing === undefined) return state;
      return produce(state, (d) => {
        d.trying[stateKeys.recovery(event.runId, event.taskId, data.commandId, data.attempt)] = {
          failureKey: failing,
          strategyId: data.strategyId,
          commands: data.commands,
          retry: data.retry,
        };
      });
    }
    case 'RecoveryResolved':
    case 'RecoveryFailed': {
      const { data } = event;
      const key = stateKeys.recovery(event.runId, event.taskId, data.commandId, data.attempt);
      return produce(state, (d) => {
        const s = (d.strategies[data.strategyId] ??= { attempts: 0, successes: 0 });
        s.attempts++;
        const tried = d.trying[key];
        delete d.trying[key];
        if (event.type === 'RecoveryResolved') {
          s.successes++;
          delete d.failing[stateKeys.command(event.runId, event.taskId, data.commandId)];
          if (tried) learn(d, tried, event.seq);
        } else if (tried && d.learned[tried.failureKey]?.strategyId === tried.strategyId) {
          d.learned[tried.failureKey]!.failures++;
        }
      });
    }
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskSkipped': {
      // Nothing more comes of this task's failures.
      const ofTask = stateKeys.inTask(event.runId, event.taskId);
      const failing = Object.keys(state.failing).filter(ofTask);
      const trying = Object.keys(state.trying).filter(ofTask);
      if (failing.length === 0 && trying.length === 0) return state;
      return produce(state, (d) => {
        for (const k of failing) delete d.failing[k];
        for (const k of trying) delete d.trying[k];
      });
    }
    default:
      return state;
  }
};

function learn(d: RecoveryStats, tried: Trying, seq: number) {
  const known = d.learned[tried.failureKey];
  if (known?.strategyId === tried.strategyId) {
    known.successes++;
    known.lastSeq = seq;
    return;
  }
  d.learned[tried.failureKey] = {
    strategyId: tried.strategyId,
    commands: tried.commands,
    retry: tried.retry,
    successes: 1,
    failures: 0,
    lastSeq: seq,
  };
  const keys = Object.keys(d.learned);
  if (keys.length > MAX_LEARNED) {
    const oldest = keys.reduce((a, b) => (d.learned[a]!.lastSeq <= d.learned[b]!.lastSeq ? a : b));
    delete d.learned[oldest];
  }
}

/** Posterior success probability: the declared prior, moved by what was observed here. */
export function posterior(prior: number, stats: StrategyStats | undefined): number {
  return (prior * PRIOR_WEIGHT + (stats?.successes ?? 0)) / (PRIOR_WEIGHT + (stats?.attempts ?? 0));
}

export const recoveryStatsProjection: Projection<RecoveryStats> = {
  ...RECOVERY_STATS,
  initialState: initialRecoveryStats,
  evolve: evolveRecoveryStats,
};
