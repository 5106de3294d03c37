import type { ContentStore } from '../events/bus.ts';
import type { EventLog } from '../events/event-log.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { StartRun } from '../events/work-commands.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { MISSED_BEATS } from '../projections/sites.ts';
import { projectOf } from '../workspace/git.ts';
import { snapshotProject } from '../workspace/project-snapshot.ts';

type Project = NonNullable<StartRun['project']>;

/** Whether a site has beaten lately: the last heartbeat of any site, younger than its three beats. */
async function siteUp(store: EventLog): Promise<boolean> {
  const last = await store.lastEvent(eventSubjects.sites()).catch(() => undefined);
  return last?.type === 'SiteHeartbeat' && Date.now() - Date.parse(last.at) < MISSED_BEATS * last.data.intervalMs;
}

/**
 * What RunStarted names as the run's project: its git base (src/workspace/git.ts) and, when a
 * site may take its tasks (one is up, or a task asks for a site or label), a snapshot of its files
 * in the content store for sites to unpack. With no site, nothing is stored: one machine runs as before.
 */
export async function runProject(
  rt: { store: EventLog; contents: ContentStore },
  workdir: string,
  tasks: readonly TaskSpec[],
): Promise<Project | undefined> {
  const base = await projectOf(workdir);
  const asks = tasks.some((t) => t.site !== undefined || (t.needs ?? []).length > 0);
  if (!asks && !(await siteUp(rt.store))) return base;
  return { ...base, snapshot: await snapshotProject(workdir, rt.contents) };
}
