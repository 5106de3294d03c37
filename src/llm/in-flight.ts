import type { LlmScope } from './client-types.ts';

/**
 * The LLM calls in flight in this process, by run and task: once a run is over, or a task is
 * skipped, their calls are cancelled (each attempt recorded as such) and no new one starts, so
 * that nothing is spent on work that will not run, or counted after a run's summary.
 */
type Call = { taskId: string | undefined; controller: AbortController; done: Promise<unknown> };
const byRun = new Map<string, Set<Call>>();
/** Runs and tasks whose calls were cancelled, the newest kept: a late call of one is refused at once. */
const over = new Set<string>();
const MAX_OVER = 10_000;
const key = (runId: string, taskId?: string) => (taskId === undefined ? runId : `${runId} ${taskId}`);

export const isCancelled = (scope: LlmScope) =>
  over.has(key(scope.runId)) || (scope.taskId !== undefined && over.has(key(scope.runId, scope.taskId)));

/** Runs `work` with a signal that cancelling its run or task aborts. */
export function trackCall<T>(scope: LlmScope, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const done = work(controller.signal);
  const call: Call = { taskId: scope.taskId, controller, done: done.catch(() => undefined) };
  let calls = byRun.get(scope.runId);
  if (!calls) byRun.set(scope.runId, (calls = new Set()));
  calls.add(call);
  const forget = () => {
    calls.delete(call);
    if (calls.size === 0 && byRun.get(scope.runId) === calls) byRun.delete(scope.runId);
  };
  return done.finally(forget);
}

/** Cancels the calls in flight of a run (or of one of its tasks) and refuses later ones; resolves once they settled. */
export async function cancelCalls(runId: string, taskId?: string): Promise<void> {
  over.add(key(runId, taskId));
  if (over.size > MAX_OVER) over.delete(over.values().next().value!);
  const calls = [...(byRun.get(runId) ?? [])].filter((c) => taskId === undefined || c.taskId === taskId);
  for (const c of calls) c.controller.abort();
  await Promise.all(calls.map((c) => c.done));
}
