import { makeEvent } from '../../events/agent-events.ts';
import { eventIds, workIds } from '../../events/ids.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import { route, type Site } from '../../projections/sites.ts';
import { append, type Effect } from '../actor.ts';

/**
 * Where an execute item goes, as effects: with no live site and no need named, the shared queue
 * (nothing recorded, as before sites); else a site's own queue, recorded first (TaskRouted); or
 * nowhere yet, recorded once per reason (TaskWaiting), and the caller tries again when a site comes up.
 */
export type Placement =
  | { kind: 'shared' }
  | { kind: 'site'; site: string; workId: string; record: Effect }
  | { kind: 'waiting'; reason: string; record: Effect };

export function placement(
  status: RunStatus,
  taskId: string,
  live: readonly Site[],
  attempt: number,
  avoid: readonly string[] = [],
  placed: ReadonlyMap<string, string> = new Map(),
): Placement {
  const { runId, generation } = status;
  const task = status.tasks[taskId]!;
  const r = route(live, task.spec, loadBySite(status, placed), affinity(status, taskId), avoid);
  if ('shared' in r) return { kind: 'shared' };
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
  const why = attempt > 0 ? `not started at ${avoid.join(', ')} in time` : routeReason(status, taskId, r.site);
  return {
    kind: 'site',
    site: r.site,
    workId: workIds.executeAt(runId, taskId, generation, task.revision, r.site, attempt),
    record: append(
      makeEvent(
        'TaskRouted',
        { runId, taskId, id: eventIds.routed(runId, taskId, generation, task.revision, attempt) },
        { site: r.site, attempt, reason: why },
      ),
    ),
  };
}

/**
 * Tasks routed to each site and not over: its load. `placed`: routed by this coordinator and not
 * yet folded into `status` (a burst of decisions is spread, not sent to one site).
 */
function loadBySite(status: RunStatus, placed: ReadonlyMap<string, string>): Map<string, number> {
  const load = new Map<string, number>();
  for (const id of status.order) {
    const t = status.tasks[id]!;
    // Routed here but not folded yet: its plan may not be folded either (a plan and its routing go together).
    const unfolded = t.site === undefined && placed.has(id) && (t.state === 'pending' || t.state === 'planned');
    const site = t.site ?? placed.get(id);
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
  if (spec.site !== undefined) return `Site: ${spec.site}`;
  if (affinity(status, taskId).includes(site)) return 'it ran a dependency';
  return spec.needs?.length ? `Needs: ${spec.needs.join(', ')}, least loaded` : 'least loaded';
}
