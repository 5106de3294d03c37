import { isTaskTerminal, type StoredEvent } from '../events/agent-events.ts';

/**
 * Route attempts, as pure functions of a task's events: a task sent to a site is at the attempt
 * of its last TaskRouted; when that site is taken for dead the task is routed again, and what the
 * superseded attempt records later (a frozen site that wakes up) is not the task's: the run-status
 * fold and the executor both read it so.
 */

/** The route attempt a record names, if it was made on a site (or, for TaskRouted, the attempt it starts). */
function routeAttemptOf(event: StoredEvent): number | undefined {
  switch (event.type) {
    case 'CommandStarted':
    case 'TaskFilesChanged':
    case 'TaskRolledBack':
    case 'TaskCompleted':
    case 'TaskFailed':
      return event.data.routeAttempt;
    case 'TaskRouted':
      return event.data.attempt;
    default:
      return undefined;
  }
}

/** Whether a record of `attempt` belongs to an attempt since superseded (`current`: the task's last route). */
export const superseded = (attempt: number | undefined, current: number | undefined): boolean =>
  attempt !== undefined && current !== undefined && attempt !== current;

export type AttemptView = {
  /** The route of its current attempt, if it was routed to a site: its last, unless recorded after its outcome. */
  current?: { site: string; attempt: number };
  /** The task's outcome as the run counts it: the first one not of a superseded attempt. */
  outcome?: StoredEvent;
  /** Index in the events of the first one after the route or reopening that began its current attempt: that attempt's records. */
  since: number;
  /** The generation of the `resume` that reopened the task (TaskReopened), if one did: it runs again from its first command. */
  reopened?: number;
};

/** Index of the first event after the task's last TaskReopened (0 without one): what it recorded since `resume` ran it again. */
export function sinceReopened(events: readonly StoredEvent[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.type === 'TaskReopened') return i + 1;
  return 0;
}

/** One task's record, the `i`-th of those folded, folded into its view. */
function evolveAttempt(view: AttemptView, e: StoredEvent, i: number): void {
  if (e.type === 'TaskRouted') {
    // Routed after its outcome (the coordinator's fold behind the log): the executor leaves that
    // attempt, and the run counts the outcome it has.
    if (view.outcome) return;
    view.current = { site: e.data.site, attempt: e.data.attempt };
    view.since = i + 1;
  } else if (e.type === 'TaskReopened') {
    // Its earlier outcome (a change set never applied) is not its outcome any more.
    delete view.outcome;
    view.reopened = e.data.generation;
    view.since = i + 1;
  } else if (!view.outcome && isTaskTerminal(e) && !superseded(routeAttemptOf(e), view.current?.attempt))
    view.outcome = e;
}

export function attemptView(events: readonly StoredEvent[]): AttemptView {
  const view: AttemptView = { since: 0 };
  events.forEach((e, i) => evolveAttempt(view, e, i));
  return view;
}

/**
 * The records of each task's current attempt, from a run's (or a task's) records in the order
 * recorded: its last route (TaskRouted) or reopening (TaskReopened) and what came after, less
 * the late records of an attempt superseded by that route (a site taken for dead that wakes up);
 * a task never routed nor reopened keeps all. The home merge and a site's catch-up both read a
 * task's change set and completion through it, so they cannot disagree with each other, nor with
 * the outcome the run counts (attemptView's, the first completion or failure kept here).
 */
export function currentAttempts(events: readonly StoredEvent[]): StoredEvent[] {
  const views = new Map<string, AttemptView>();
  const viewOf = (taskId: string) => views.get(taskId) ?? views.set(taskId, { since: 0 }).get(taskId)!;
  events.forEach((e, i) => {
    if (e.taskId !== undefined) evolveAttempt(viewOf(e.taskId), e, i);
  });
  return events.filter((e, i) => {
    if (e.taskId === undefined) return true;
    const view = views.get(e.taskId)!;
    // `since` is the index after the route or reopening that began the attempt: that one is kept too.
    return i + 1 >= view.since && !superseded(routeAttemptOf(e), view.current?.attempt);
  });
}

/** Why an execute item of `route` must be left: the task was routed since to another site or attempt. */
export function leftBehind(
  route: { site: string; attempt: number } | undefined,
  view: AttemptView,
): string | undefined {
  const now = view.current;
  if (!route || !now || (now.site === route.site && now.attempt === route.attempt)) return undefined;
  return `attempt ${route.attempt} at site ${route.site} was superseded by attempt ${now.attempt} at site ${now.site}`;
}

/**
 * Why an execute item of the task's current `route` must be left before it starts: its attempt
 * was recorded lost (its site taken for dead), so the coordinator routes the task again and that
 * attempt's run would only be ignored. `since`: the records since the current route (AttemptView's).
 */
export function recordedLost(
  route: { site: string; attempt: number } | undefined,
  since: readonly StoredEvent[],
): string | undefined {
  const lost = since.some((e) => e.type === 'TaskAttemptLost' && e.data.attempt === route?.attempt);
  return route && lost ? `attempt ${route.attempt} at site ${route.site} was recorded lost` : undefined;
}

/**
 * Why an item of `route` must be left just before its first command, from the task's last route
 * and last loss as the log holds them then: the item was taken before the loss or the route
 * after it was recorded, and readying its copy took long enough for them to come. A loss counts
 * only if recorded after that route (attempt numbers start again in a later generation).
 */
export function leftBeforeStart(
  route: { site: string; attempt: number },
  lastRoute: StoredEvent | undefined,
  lastLoss: StoredEvent | undefined,
): string | undefined {
  const lostSince = lastLoss && (!lastRoute || lastLoss.seq > lastRoute.seq) ? [lastLoss] : [];
  return leftBehind(route, attemptView(lastRoute ? [lastRoute] : [])) ?? recordedLost(route, lostSince);
}

/** Reopened by `resume` in this generation (TaskReopened): the id of the outcome (or the run's end) recorded after carries it. */
export type Reopened = { reopened?: number };

/** A task's (or a run's) `reopened`, for a decision or an item: nothing when it never was. */
export const reopenedOf = (of: Reopened): Reopened => (of.reopened ? { reopened: of.reopened } : {});
