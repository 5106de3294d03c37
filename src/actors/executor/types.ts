import type { Evidence } from '../../events/agent-events.ts';
import type { FailureOutput } from '../../events/failure.ts';
import type { RecoverReply } from '../../events/work-commands.ts';
import type { DecisionPoint, Plan } from '../../plan/plan-schema.ts';
import type { SuccessCriterion } from '../../tasklist/success-criterion.ts';

/** The executor's types: what its machine, its schedule, its context updates and its host share. */

/** What running one command came to, as the machine needs it. */
export type CommandOutcome = FailureOutput & {
  ok: boolean;
  denied?: { rule: string; reason: string };
  /** The sandbox refused a write: why, and how to allow it. */
  refused?: string;
};
export type RunCommandInput = {
  commandId: string;
  command: string;
  attempt: number;
  purpose: 'plan' | 'recovery';
  timeoutMs?: number;
};
export type RecoverInput = {
  commandId: string;
  command: string;
  attempt: number;
  outcome: CommandOutcome;
  tried: ExecutorContext['tried'][string];
};
export type FixInput = { commandId: string; attempt: number; commands: string[] };
/** A benign verdict's state check: run like a success criterion, in the task's folder. */
export type ConfirmInput = { commandId: string; attempt: number; check: string };
export type RecoveryRecord = {
  commandId: string;
  attempt: number;
  reply: Extract<RecoverReply, { decision: 'fix' | 'benign' }>;
  resolved: boolean;
  reason?: string;
};

export type ExecutorInput = {
  plan: Plan;
  deps: Record<string, string[]>;
  commandConcurrency: number;
  maxRecoveryAttempts: number;
  /** A redelivered work item resumes what the log records (see resume.ts). */
  resume?: { done: string[]; nextAttempt: Record<string, number>; recoveryAttempts: number };
};
export type ExecutorOutput =
  | { ok: true; commands: number; recoveries: number; evidence: Evidence }
  | { ok: false; stage: 'policy' | 'execution' | 'recovery' | 'verification'; reason: string; commandId?: string };

/**
 * How a task ended, its merge included: a view that could not be merged is a conflict
 * (src/workspace/merge.ts); one whose change set could not be applied (a full disk, a rename refused) failed at the merge.
 */
export type TaskEnd =
  | ExecutorOutput
  | { ok: false; stage: 'conflict'; reason: string; commandId?: string; conflicts: { path: string; by: string }[] }
  | { ok: false; stage: 'merge'; reason: string; commandId?: string };

export type CommandState = {
  id: string;
  command: string;
  state: 'waiting' | 'running' | 'done' | 'failed' | 'skipped';
  attempt: number;
  timeoutMs?: number;
};

type FixReply = Extract<RecoverReply, { decision: 'fix' }>;
type BenignReply = Extract<RecoverReply, { decision: 'benign' }>;

export type ExecutorContext = {
  order: string[];
  commands: Record<string, CommandState>;
  deps: Record<string, string[]>;
  decisionPoints: DecisionPoint[];
  successCriteria: SuccessCriterion[];
  /** Decision point id -> its value once evaluated ('pending' while the check runs). */
  decisions: Record<string, boolean | 'pending'>;
  commandConcurrency: number;
  maxRecoveryAttempts: number;
  recoveryAttempts: number;
  recoveries: number;
  /** Failed commands an LLM's fix did instead of preparing and re-running them: no evidence of the command's intent. */
  replaced: number;
  /** Strategies tried per command and the failure each met: for loop detection. */
  tried: Record<string, { strategyId: string; fingerprint: string }[]>;
  failure?: { commandId: string; outcome: CommandOutcome };
  pendingFix?: FixReply;
  /** A benign verdict whose state check runs: benign only if it holds. */
  pendingBenign?: BenignReply;
  retrying?: { commandId: string; fix: FixReply; attempt: number };
  result?: {
    ok: false;
    stage: 'policy' | 'execution' | 'recovery' | 'verification';
    reason: string;
    commandId?: string;
  };
};
