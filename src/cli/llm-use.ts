import type { Runtime } from '../actors/actor.ts';
import type { StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import { cancelCalls } from '../llm/in-flight.ts';

/**
 * Once a run is over, its LLM calls still in flight in this process (plans made ahead for tasks
 * that were then skipped) are cancelled, each attempt recorded, and the run's LLM use is read
 * from the log: the closing line counts what `status` and `report` count.
 */
export async function closeLlmUse(
  rt: Runtime,
  runId: string,
  seen: ReadonlySet<string>,
  json: ((e: StoredEvent) => void) | undefined,
  closing: ((calls: readonly StoredEvent[]) => void) | undefined,
): Promise<void> {
  await cancelCalls(runId);
  await rt.background.settled();
  const calls = await rt.store.read({ subject: eventSubjects.filter({ runId, type: 'LlmCalled' }) });
  if (json) for (const e of calls) if (!seen.has(e.id)) json(e);
  closing?.(calls);
}
