import type { EventData, StoredEvent } from '../events/agent-events.ts';

/**
 * The sites as their heartbeats say: pure, so the coordinator's choice of a site is a function of
 * the log and the time. A site is live while its last beat is younger than three of its intervals.
 */
export type Site = EventData<'SiteHeartbeat'> & { lastSeenMs: number };
export type Sites = ReadonlyMap<string, Site>;

/** The live sites, followed from the log by the host (src/host/sites.ts) for the coordinator. */
export type SiteWatch = {
  live(nowMs?: number): Site[];
  /** Whether the site is taken for dead now (isDead). */
  dead(site: string, nowMs?: number): boolean;
  /** Whether it is still once its last beat, read from the log itself, is folded: asked only before a loss is recorded. */
  confirmDead(site: string): Promise<boolean>;
  /** Calls `listener` when a site comes up (or back); returns how to stop. */
  changed(listener: () => void): () => void;
  stop(): Promise<void>;
};

/**
 * The route of a task's attempt on the shared queue (the submitter's executor): recorded only for
 * an attempt after one lost or not started at a site, so that attempt is current and its records
 * carry its number. Not a valid site name (args.ts), so no site takes it.
 */
export const HOME_SITE = '@home';

/** Where a route or a record says a task ran, for people. */
export const siteLabel = (site: string): string => (site === HOME_SITE ? 'home (the shared queue)' : `site ${site}`);

/** Beats a site may miss before it is taken for dead. */
export const MISSED_BEATS = 3;

/**
 * A beat older than the site's last one is passed over: a beat is retried with the time it was
 * made, so those made while a link was down arrive once it is back, among fresh ones, and must
 * not make a site that beats again look silent (and its tasks lost).
 */
export function foldSites(sites: Map<string, Site>, event: StoredEvent): Map<string, Site> {
  if (event.type !== 'SiteHeartbeat') return sites;
  const at = Date.parse(event.at);
  const last = sites.get(event.data.site);
  if (!last || at > last.lastSeenMs) sites.set(event.data.site, { ...event.data, lastSeenMs: at });
  return sites;
}

export const isLive = (site: Site, nowMs: number): boolean => nowMs - site.lastSeenMs < MISSED_BEATS * site.intervalMs;

/**
 * Taken for dead: known, silent for three beats, and watched for at least as long (a watcher
 * that has just started may not have read its latest beats yet).
 */
export const isDead = (site: Site | undefined, nowMs: number, watchedSinceMs: number): boolean =>
  site !== undefined && !isLive(site, nowMs) && nowMs - watchedSinceMs >= MISSED_BEATS * site.intervalMs;

/**
 * Whether a beat made the site live now where it was not: tasks waiting for it may go. Judged at
 * the watcher's `nowMs`, not by the gap between beats: a site taken for dead while its beats were
 * late to arrive (the watcher behind) comes back when they do, though none was three intervals apart.
 */
export const cameUp = (before: Site | undefined, after: Site | undefined, nowMs: number): boolean =>
  after !== undefined && isLive(after, nowMs) && !(before !== undefined && isLive(before, nowMs));

export const liveSites = (sites: Sites, nowMs: number): Site[] => [...sites.values()].filter((s) => isLive(s, nowMs));

/** What a task asks of the site that runs it: `Site: NAME` and `Needs: label, …` in tasks.md. */
export type Needs = { site?: string | undefined; needs?: readonly string[] | undefined };

/** Whether `site` may run a task that asks `needs`. */
export const meets = (site: Pick<Site, 'site' | 'labels'>, needs: Needs): boolean =>
  (needs.site === undefined || needs.site === site.site) && (needs.needs ?? []).every((l) => site.labels.includes(l));

export type Route = { site: string } | { waiting: string } | { shared: true };

/**
 * Where a task goes: with no live site, the shared queue (one machine, as before sites) unless the
 * task asks for a site or label, then it waits, saying why; else the live site that meets its
 * needs, preferring one that ran its dependencies (their tree is there), then the least loaded
 * (tasks routed to it and not over, per slot). `avoid`: sites that did not start it in time.
 */
export function route(
  live: readonly Site[],
  needs: Needs,
  load: ReadonlyMap<string, number>,
  affinity: readonly string[] = [],
  avoid: readonly string[] = [],
): Route {
  const asks = needs.site !== undefined || (needs.needs ?? []).length > 0;
  if (live.length === 0) return asks ? { waiting: `no site is up (${describeNeeds(needs)})` } : { shared: true };
  const fit = live.filter((s) => meets(s, needs));
  if (fit.length === 0)
    return {
      waiting: `no live site meets ${describeNeeds(needs)} (live: ${live.map((s) => `${s.site} [${s.labels.join(', ')}]`).join('; ')})`,
    };
  const candidates = fit.filter((s) => !avoid.includes(s.site));
  const pool = candidates.length > 0 ? candidates : fit;
  const perSlot = (s: Site) => (load.get(s.site) ?? 0) / s.slots;
  const ranked = [...pool].sort(
    (a, b) =>
      Number(affinity.includes(b.site)) - Number(affinity.includes(a.site)) ||
      perSlot(a) - perSlot(b) ||
      a.site.localeCompare(b.site),
  );
  return { site: ranked[0]!.site };
}

const describeNeeds = (needs: Needs): string =>
  [
    ...(needs.site !== undefined ? [`Site: ${needs.site}`] : []),
    ...((needs.needs ?? []).length ? [`Needs: ${needs.needs!.join(', ')}`] : []),
  ].join(', ') || 'any site';
