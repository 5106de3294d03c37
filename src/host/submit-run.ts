import type { RunOutcome, StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { StartRun } from '../events/work-commands.ts';
import type { Runtime } from '../actors/actor.ts';
import { workIds } from '../events/ids.ts';
import { packStartItem } from './start-item.ts';

/**
 * Submits a run to the coordinator (whichever process hosts it) and follows the run's events
 * until RunFinished. The run lives in the log: interrupting this only stops the watching.
 */
export async function submitRun(
  rt: Runtime,
  start: StartRun,
  onEvent: (event: StoredEvent) => void = () => {},
  signal?: AbortSignal,
  /** Work item id: the first submission is `start:<runId>`; a resume needs a new one. */
  itemId = workIds.start(start.runId),
): Promise<RunOutcome | 'interrupted'> {
  let finish: (status: RunOutcome | 'interrupted') => void = () => {};
  const finished = new Promise<RunOutcome | 'interrupted'>((r) => (finish = r));
  signal?.addEventListener('abort', () => finish('interrupted'), { once: true });
  const following = await rt.store.follow({ subject: eventSubjects.run(start.runId), from: 'start' }, (event) => {
    onEvent(event);
    if (event.type === 'RunFinished') finish(event.data.status);
  });
  try {
    await rt.work.publish('coordinator', 'start', await packStartItem(rt, start), itemId);
    return await finished;
  } finally {
    await following.stop();
  }
}
