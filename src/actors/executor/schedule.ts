import type { DecisionPoint } from '../../plan/plan-schema.ts';
import type { CommandState, ExecutorContext } from './types.ts';

/** The decision point that gates a command, if any. */
export function gatingDecision(context: ExecutorContext, commandId: string): DecisionPoint | undefined {
  return context.decisionPoints.find((d) => d.whenTrue.includes(commandId) || d.whenFalse.includes(commandId));
}

/** Whether a gated command's branch was not taken (so it is skipped, which counts as settled). */
function branchNotTaken(context: ExecutorContext, commandId: string): boolean {
  const gate = gatingDecision(context, commandId);
  if (!gate) return false;
  const value = context.decisions[gate.id];
  if (value === undefined || value === 'pending') return false;
  return value ? !gate.whenTrue.includes(commandId) : !gate.whenFalse.includes(commandId);
}

/** Waiting commands on a branch that a decision did not take: they are skipped. */
export function commandsOffBranch(context: ExecutorContext): string[] {
  return context.order.filter((id) => context.commands[id]!.state === 'waiting' && branchNotTaken(context, id));
}

/**
 * Waiting commands whose dependencies have all settled, in plan order. Nothing is ready while a
 * failure is being handled (stop-on-failure).
 */
export function readyCommands(context: ExecutorContext): CommandState[] {
  if (context.failure) return [];
  const settled = (id: string) => {
    const s = context.commands[id]?.state;
    return s === 'done' || s === 'skipped';
  };
  return context.order
    .map((id) => context.commands[id]!)
    .filter((cmd) => cmd.state === 'waiting' && (context.deps[cmd.id] ?? []).every(settled));
}
