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
  /**
   * LLM fixes that resolved their command, by attempt, until their task's outcome: learned only
   * when it completed with evidence (a fix that replaced a command and left the task unverified
   * did not show that it worked).
   */
  resolved: Record<string, Trying>;
};

export const RECOVERY_STATS = { name: 'recovery-stats', version: 3 } as const;
export const initialRecoveryStats = (): RecoveryStats => ({
  strategies: {},
  learned: {},
  failing: {},
  trying: {},
  resolved: {},
});

/** How much the declared prior weighs, in observations. */
const PRIOR_WEIGHT = 2;
/** Learned fixes kept; the one used longest ago goes first. */
const MAX_LEARNED = 1000;

/**
 * Outcomes per strategy, and the LLM fixes that worked, from the command and recovery events.
 * Folds in place and returns the state, as the run status does: every recovery outcome changes
 * it, and an immutable update (immer) would cost a replay several times the fold itself. The projection runner copies the state only
 * when it takes a snapshot; its readers (the recoverer's advisor) read it between events.
 */
export const evolveRecoveryStats = (state: RecoveryStats, event: StoredEvent): RecoveryStats => {
  switch (event.type) {
    case 'CommandFinished': {
      const { data } = event;
      if (data.purpose !== 'plan' || (data.exitCode === 0 && !data.timedOut)) return state;
      state.failing[stateKeys.command(event.runId, event.taskId, data.commandId)] = failureKey(data);
      return state;
    }
    case 'RecoveryAttempted': {
      const { data } = event;
      const failing = state.failing[stateKeys.command(event.runId, event.taskId, data.commandId)];
      if (!strategyIds.isLlm(data.strategyId) || failing === undefined) return state;
      state.trying[stateKeys.recovery(event.runId, event.taskId, data.commandId, data.attempt)] = {
        failureKey: failing,
        strategyId: data.strategyId,
        commands: data.commands,
        retry: data.retry,
      };
      return state;
    }
    case 'RecoveryResolved':
    case 'RecoveryFailed': {
      const { data } = event;
      const key = stateKeys.recovery(event.runId, event.taskId, data.commandId, data.attempt);
      const s = (state.strategies[data.strategyId] ??= { attempts: 0, successes: 0 });
      s.attempts++;
      const tried = state.trying[key];
      delete state.trying[key];
      if (event.type === 'RecoveryResolved') {
        delete state.failing[stateKeys.command(event.runId, event.taskId, data.commandId)];
        // An LLM fix is judged by its task's outcome; a pattern's by its command's.
        if (tried) state.resolved[key] = tried;
        else s.successes++;
      } else if (tried) {
        unlearn(state, tried);
      }
      return state;
    }
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskSkipped': {
      // Nothing more comes of this task's failures; its resolved LLM fixes worked only if it completed with evidence.
      const ofTask = stateKeys.inTask(event.runId, event.taskId);
      for (const k of Object.keys(state.failing).filter(ofTask)) delete state.failing[k];
      for (const k of Object.keys(state.trying).filter(ofTask)) delete state.trying[k];
      const worked = event.type === 'TaskCompleted' && event.data.evidence !== 'none';
      for (const k of Object.keys(state.resolved).filter(ofTask)) {
        const fix = state.resolved[k]!;
        delete state.resolved[k];
        if (!worked) {
          unlearn(state, fix);
          continue;
        }
        state.strategies[fix.strategyId]!.successes++;
        learn(state, fix, event.seq);
      }
      return state;
    }
    default:
      return state;
  }
};

/** A fix that did not work: a failure of the learned fix it was, if it was one. */
function unlearn(state: RecoveryStats, tried: Trying) {
  if (state.learned[tried.failureKey]?.strategyId === tried.strategyId) state.learned[tried.failureKey]!.failures++;
}

function learn(state: RecoveryStats, tried: Trying, seq: number) {
  const known = state.learned[tried.failureKey];
  if (known?.strategyId === tried.strategyId) {
    known.successes++;
    known.lastSeq = seq;
    return;
  }
  state.learned[tried.failureKey] = {
    strategyId: tried.strategyId,
    commands: tried.commands,
    retry: tried.retry,
    successes: 1,
    failures: 0,
    lastSeq: seq,
  };
  const keys = Object.keys(state.learned);
  if (keys.length > MAX_LEARNED) {
    const oldest = keys.reduce((a, b) => (state.learned[a]!.lastSeq <= state.learned[b]!.lastSeq ? a : b));
    delete state.learned[oldest];
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
