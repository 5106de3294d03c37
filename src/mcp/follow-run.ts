import type { Runtime } from '../actors/actor.ts';
import { isTaskTerminal, type StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import { eventLine } from '../cli/event-line.ts';
import { recordedRun } from '../cli/recorded-run.ts';

export type Progress = { progress: number; total?: number; message: string };

/** Where a run stands in its events: tasks over, tasks in all, and whether it is over or interrupted. */
export type RunPoint = { done: Set<string>; total?: number; ended?: string };

function initialPoint(): RunPoint {
  return { done: new Set() };
}

/** Folds one event of the run into its point (pure). */
function advance(point: RunPoint, e: StoredEvent): RunPoint {
  if (e.type === 'RunStarted') return { ...point, total: e.data.taskIds.length };
  if (isTaskTerminal(e) && e.taskId !== undefined) return { ...point, done: new Set(point.done).add(e.taskId) };
  if (e.type === 'RunFinished') return { ...point, ended: e.data.status };
  if (e.type === 'RunInterrupted') return { ...point, ended: 'interrupted' };
  if (e.type === 'RunResumed') return { ...point, ended: undefined };
  return point;
}

/**
 * Follows a run in the log until it finishes or is interrupted, calling `report` once with where
 * it stands and again at each task that ends. By run id alone: a client that reconnects, or another
 * server on the same log, follows it the same. Resolves with how the run ended ('aborted' if `signal` did).
 */
export async function followRun(
  rt: Runtime,
  runId: string,
  report: (p: Progress) => void,
  signal: AbortSignal,
): Promise<string> {
  const events = await recordedRun(rt, runId);
  let point = events.reduce(advance, initialPoint());
  const say = (message: string) =>
    report({ progress: point.done.size, ...(point.total !== undefined ? { total: point.total } : {}), message });
  say(`${point.done.size}/${point.total ?? '?'} task(s) over${point.ended ? `; the run is ${point.ended}` : ''}`);
  if (point.ended) return point.ended;
  let finish: (how: string) => void = () => {};
  const ended = new Promise<string>((resolve) => (finish = resolve));
  const onAbort = () => finish('aborted');
  signal.addEventListener('abort', onAbort, { once: true });
  const sub = await rt.store.follow(
    { subject: eventSubjects.run(runId), from: events[events.length - 1]!.seq + 1 },
    (e) => {
      const before = point.done.size;
      point = advance(point, e);
      if (point.done.size > before) say(eventLine(e));
      if (point.ended) finish(point.ended);
    },
  );
  try {
    return await ended;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await sub.stop();
  }
}
