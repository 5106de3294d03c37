import type { RecoverReply, RecoverRequest } from '../../events/work-commands.ts';
import { checkCommand } from '../../exec/policy.ts';
import { runProjection, type RunningProjection } from '../../projections/runner.ts';
import type { RecoveryStats } from '../../projections/recovery-stats.ts';
import { choosePatternRecovery, learnedFix } from '../../recovery/choose.ts';
import { llmRecovery, type LlmRecovery } from '../../recovery/llm-recovery.ts';
import { DEFAULT_PATTERNS_FILE, type PatternDb } from '../../recovery/pattern-db.ts';
import { kindRecovery } from '../../recovery/kinds/index.ts';
import type { Probe } from '../../recovery/kinds/probe.ts';
import {
  destroyedBy,
  destructionReason,
  isStorable,
  masksFailure,
  plainPath,
  predatingTargets,
  removedByIntent,
} from '../../recovery/destruction.ts';
import { eventSubjects } from '../../events/subjects.ts';
import type { Runtime } from '../actor.ts';
import { recovererState } from './state.ts';

/** The I/O the recoverer asks of its host (src/host/actor-ports.ts). */
export type RecovererPorts = {
  loadPatterns(file: string): Promise<PatternDb>;
  /** A look at the working directory (read at `root`: the task's view), for the strategies per kind of mistake. */
  probe(workdir: string, root?: string): Probe;
  /** Where the task's commands see the working directory: its view when the executor runs on this machine, else the folder. */
  seenAt(request: RecoverRequest): string;
  /** `ask` is undefined when no LLM is configured. */
  openLlm(rt: Runtime): Promise<{
    ask: ((request: RecoverRequest, why: string) => Promise<LlmRecovery>) | undefined;
    close: () => Promise<void>;
  }>;
};

export type Advisor = {
  advise(request: RecoverRequest): Promise<RecoverReply>;
  stop(): Promise<void>;
  stats(): RecoveryStats;
};

/**
 * The recoverer's decision procedure: the pattern database first (ordered by the recovery
 * statistics projection, kept current from the log), then the strategies per kind of mistake
 * (src/recovery/kinds), then a fix an LLM gave for the same failure before (learned from the
 * log), the LLM only when none has one, and never a fix that repeats a failed one.
 */
export async function createAdvisor(
  rt: Runtime,
  ports: RecovererPorts,
  options: { errorPatterns?: boolean } = {},
): Promise<Advisor> {
  const db = await ports.loadPatterns(rt.config.recovery.patternsFile ?? DEFAULT_PATTERNS_FILE);
  const stats: RunningProjection<RecoveryStats> = await runProjection(rt.store, rt.snapshots, recovererState, {
    everyEvents: rt.config.snapshots.everyEvents,
    everyMs: rt.config.snapshots.everyMs,
    onError: (e) => rt.log.error('recovery statistics', e),
  });
  await stats.caughtUp();
  const { ask, close: closeLlm } = await ports.openLlm(rt);

  // The reference workflow the benchmark runs asks the LLM for every failure: neither patterns nor learned fixes.
  const fromTheLog = options.errorPatterns ?? true;

  /** When each run started (its RunStarted event): a file older than that is the user's. */
  const runStarts = new Map<string, number>();
  const runStartMs = async (runId: string): Promise<number> => {
    let at = runStarts.get(runId);
    if (at === undefined) {
      const [started] = await rt.store.read({ subject: eventSubjects.of(runId, undefined, 'RunStarted') });
      // No record of the run's start: everything on disk is taken as the user's.
      at = started ? Date.parse(started.at) : Number.POSITIVE_INFINITY;
      runStarts.set(runId, at);
    }
    return at;
  };

  /** No fix, from a pattern, the log or an LLM, destroys content from before the run, or only masks the failure. */
  async function guard(request: RecoverRequest, reply: RecoverReply): Promise<RecoverReply> {
    if (reply.decision !== 'fix') return reply;
    const masking = reply.source === 'llm' ? masksFailure(request.command, reply.commands, reply.retry) : undefined;
    if (masking) return { decision: 'give-up', reason: `the LLM's fix was refused: ${masking}` };
    // What the failed command would have replaced anyway is not the fix's doing.
    const own = new Set([...destroyedBy(request.command), ...removedByIntent(request.command)].map(plainPath));
    const destroyed = reply.commands.flatMap(destroyedBy).filter((p) => !own.has(plainPath(p)));
    if (destroyed.length === 0) return reply;
    const predating = await predatingTargets(destroyed, ports.seenAt(request), await runStartMs(request.runId));
    if (predating.length === 0) return reply;
    // Allowed, where asked for, when each is a file the executor can store first (it then does, or gives up).
    if (rt.config.recovery.replacePredating && request.keepsContents && predating.every(isStorable))
      return { ...reply, keep: predating };
    return {
      decision: 'give-up',
      reason: `${reply.patternId ? `${reply.patternId}: ` : ''}${destructionReason(reply.commands, predating)}`,
    };
  }

  async function advise(request: RecoverRequest): Promise<RecoverReply> {
    return guard(request, await choose(request));
  }

  async function choose(request: RecoverRequest): Promise<RecoverReply> {
    const choice = fromTheLog
      ? choosePatternRecovery(request, db, stats.state(), {
          allow: rt.config.policy.allow,
          allowEffects: rt.config.recovery.allow,
          patternAttemptsBeforeLlm: rt.config.recovery.patternAttemptsBeforeLlm,
        })
      : ({ kind: 'llm', why: 'error patterns are turned off' } as const);
    if (choice.kind === 'reply') return choice.reply;
    // No pattern has a fix: a strategy per kind of mistake may, from the failure and the working directory.
    const kind = fromTheLog ? kindRecovery(request, ports.probe(request.workdir, ports.seenAt(request))) : undefined;
    if (kind?.decision === 'fix' && kind.commands.every((c) => checkCommand(c, rt.config.policy.allow).allowed))
      return kind;
    const learned = fromTheLog ? learnedFix(request, stats.state(), rt.config.policy.allow) : undefined;
    if (learned) return learned;
    if (!ask || request.llm === 'offline')
      return { decision: 'give-up', reason: `${choice.why}, and the LLM is offline` };
    return llmRecovery(request, await ask(request, choice.why), rt.config.policy.allow);
  }

  return { advise, stop: () => Promise.all([stats.stop(), closeLlm()]).then(() => {}), stats: () => stats.state() };
}
