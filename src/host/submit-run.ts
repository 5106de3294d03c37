import type { RunOutcome, StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { StartRun } from '../events/work-commands.ts';
import type { Runtime } from '../actors/actor.ts';
import { workIds } from '../events/ids.ts';
import { packStartItem } from './start-item.ts';

/**
 * Submits a run to the coordinator (whichever process hosts it) and follows the run's events
 * until RunFinished (the one after `ended`, when a `resume` reopened a finished run). The run lives in the log: interrupting this only stops the watching.
 */
export async function submitRun(
  rt: Runtime,
  start: StartRun,
  onEvent: (event: StoredEvent) => void = () => {},
  signal?: AbortSignal,
  /** Work item id: the first submission is `start:<runId>`; a resume needs a new one. */
  itemId = workIds.start(start.runId),
  /** The seq of an earlier RunFinished that a `resume` reopening tasks supersedes: passed over. */
  ended = 0,
): Promise<RunOutcome | 'interrupted'> {
  let finish: (status: RunOutcome | 'interrupted') => void = () => {};
  const finished = new Promise<RunOutcome | 'interrupted'>((r) => (finish = r));
  signal?.addEventListener('abort', () => finish('interrupted'), { once: true });
  const following = await rt.store.follow({ subject: eventSubjects.run(start.runId), from: 'start' }, (event) => {
    if (event.type === 'RunFinished' && event.seq <= ended) return;
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
