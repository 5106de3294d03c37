import { makeEvent, type AgentEvent } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import type { RecoverReply, RecoverRequest } from '../../events/work-commands.ts';

/**
 * The recoverer's pure core besides the pattern database's choice (`src/recovery/choose.ts`):
 * what a recovery decision records. A give-up records nothing (the executor's RecoveryFailed or
 * TaskFailed says it); a fix or a benign verdict is recorded before the executor hears of it.
 */
export function attemptEvents(request: RecoverRequest, reply: RecoverReply): AgentEvent[] {
  if (reply.decision === 'give-up') return [];
  const fix = reply.decision === 'fix' ? reply : undefined;
  return [
    makeEvent(
      'RecoveryAttempted',
      { runId: request.runId, taskId: request.taskId, id: eventIds.command(request, 'RecoveryAttempted') },
      {
        commandId: request.commandId,
        attempt: request.attempt,
        strategyId: reply.strategyId,
        source: fix?.source ?? 'pattern',
        ...(reply.patternId ? { patternId: reply.patternId } : {}),
        commands: fix?.commands ?? [],
        retry: fix?.retry ?? false,
        ...(fix?.diagnosis ? { diagnosis: fix.diagnosis } : {}),
        ...(reply.decision === 'benign' ? { diagnosis: `the work is done if \`${reply.holds}\` exits 0` } : {}),
      },
    ),
  ];
}
