import type { Runtime } from '../src/actors/actor.ts';
import type { StoredEvent } from '../src/events/agent-events.ts';
import { eventSubjects } from '../src/events/subjects.ts';
import { evolveTaskHistory, initialTaskHistory, type TaskHistory } from '../src/projections/task-history.ts';

const KEY = 'task-history-blocking';

/**
 * The reference workflow's memory write: read, update and write the history before the next
 * task may start. The benchmark's reference run passes it as the executor's `afterTaskOutcome`.
 */
export async function writeMemoryNow(rt: Runtime, event: StoredEvent): Promise<void> {
  const snapshots = rt.snapshots;
  const current = (await snapshots.load<TaskHistory>(KEY))?.state ?? initialTaskHistory();
  const submitted = await rt.store.read({ subject: eventSubjects.of(event.runId, event.taskId, 'TaskSubmitted') });
  const state = [...submitted, event].reduce(evolveTaskHistory, current);
  await snapshots.save(KEY, { version: 1, lastSeq: event.seq, at: new Date().toISOString(), state });
}
