import { makeEvent } from '../../events/agent-events.ts';
import { eventIds, workIds } from '../../events/ids.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import { HOME_SITE, route, type Site } from '../../projections/sites.ts';
import { append, type Effect } from '../actor.ts';

/**
 * Where an execute item goes, as effects: with no live site and no need named, the shared queue
 * (nothing recorded, as before sites, unless an attempt at a site came before: then routed
 * HOME_SITE); else a site's own queue, recorded first (TaskRouted); or
 * nowhere yet, recorded once per reason (TaskWaiting), and the caller tries again when a site comes up.
 */
export type Placement =
  | { kind: 'shared' }
  | { kind: 'site'; site: string; attempt: number; workId: string; record: Effect }
  | { kind: 'waiting'; reason: string; record: Effect };

export function placement(
  status: RunStatus,
  taskId: string,
  live: readonly Site[],
  attempt: number,
  avoid: readonly string[] = [],
  again?: string,
  sent: ReadonlyMap<string, string> = new Map(),
): Placement {
  const { runId, generation } = status;
  const task = status.tasks[taskId]!;
  const r = route(live, task.spec, loadBySite(status, sent), affinity(status, taskId), avoid);
  // An attempt after one at a site goes home as a route of its own: the one before is not current any more.
  if ('shared' in r && attempt === 0) return { kind: 'shared' };
  if ('waiting' in r)
    return {
      kind: 'waiting',
      reason: r.waiting,
      record: append(
        makeEvent(
          'TaskWaiting',
          { runId, taskId, id: eventIds.waiting(runId, taskId, r.waiting) },
          { reason: r.waiting },
        ),
      ),
    };
  const to = 'shared' in r ? HOME_SITE : r.site;
  const why = again ?? routeReason(status, taskId, to);
  return {
    kind: 'site',
    site: to,
    attempt,
    workId: workIds.executeAt(runId, taskId, generation, task.revision, to, attempt),
    record: append(
      makeEvent(
        'TaskRouted',
        { runId, taskId, id: eventIds.routed(runId, taskId, generation, task.revision, attempt) },
        { site: to, attempt, reason: why },
      ),
    ),
  };
}

/** A task's current route whose site is taken for dead while the task is not over: lost, to be recorded and routed again. */
export function lostAttempt(
  status: RunStatus,
  taskId: string,
  route: { site: string; attempt: number },
  dead: (site: string) => boolean,
): Effect | undefined {
  const task = status.tasks[taskId];
  if (!task || task.attempt !== route.attempt || !['planned', 'executing'].includes(task.state)) return undefined;
  if (!dead(route.site)) return undefined;
  const { runId, generation } = status;
  return append(
    makeEvent(
      'TaskAttemptLost',
      { runId, taskId, id: eventIds.attemptLost(runId, taskId, generation, task.revision, route.attempt) },
      { site: route.site, attempt: route.attempt, reason: 'site-dead' },
    ),
  );
}

/**
 * Tasks routed to each site and not over: its load. `sent`: the site each task was routed to by
 * this coordinator (task id to site), ahead of the log's TaskRouted coming back through the fold:
 * tasks routed in one burst must not all see the same empty sites.
 */
function loadBySite(status: RunStatus, sent: ReadonlyMap<string, string>): Map<string, number> {
  const load = new Map<string, number>();
  for (const id of status.order) {
    const t = status.tasks[id]!;
    const site = sent.get(id) ?? t.site;
    // Routed here but not folded yet: its plan may not be folded either (a plan and its routing go together).
    const unfolded = t.site === undefined && sent.has(id) && t.state === 'pending';
    if (site !== undefined && (unfolded || t.state === 'planned' || t.state === 'executing'))
      load.set(site, (load.get(site) ?? 0) + 1);
  }
  return load;
}

/** The sites that ran the task's dependencies (their tree is there). */
function affinity(status: RunStatus, taskId: string): string[] {
  const spec = status.tasks[taskId]!.spec;
  return (spec.depends ?? []).flatMap((d) => status.tasks[d]?.site ?? []);
}

function routeReason(status: RunStatus, taskId: string, site: string): string {
  const spec = status.tasks[taskId]!.spec;
  if (site === HOME_SITE) return 'no live site';
  if (spec.site !== undefined) return `Site: ${spec.site}`;
  if (affinity(status, taskId).includes(site)) return 'it ran a dependency';
  return spec.needs?.length ? `Needs: ${spec.needs.join(', ')}, least loaded` : 'least loaded';
}
