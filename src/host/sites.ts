import { hostname } from 'node:os';
import { makeEvent, type StoredEvent } from '../events/agent-events.ts';
import type { EventLog } from '../events/event-log.ts';
import { SITES_RUN, eventSubjects } from '../events/subjects.ts';
import type { Config } from '../config.ts';
import type { Runtime } from '../actors/actor.ts';
import { cameUp, foldSites, isDead, liveSites, type Site, type SiteWatch } from '../projections/sites.ts';

/** How far back a coordinator reads the heartbeats when it starts: longer than any site's three beats. */
const SITES_LOOKBACK_MS = 5 * 60_000;

type SiteConfig = NonNullable<Config['site']>;

/**
 * This process's site, announced at once and again every `heartbeatMs`: its name, labels, the
 * tasks it takes at once, its host. A beat that fails is said and the next one tries again.
 */
export function startSiteBeacon(rt: Runtime, site: SiteConfig, slots: number): { stop(): void } {
  const beat = () =>
    rt.store
      .append(
        makeEvent(
          'SiteHeartbeat',
          { runId: SITES_RUN, taskId: site.name },
          {
            site: site.name,
            labels: site.labels,
            slots,
            host: hostname(),
            pid: process.pid,
            intervalMs: site.heartbeatMs,
          },
        ),
      )
      .catch((error: unknown) => rt.log.error(`site ${site.name}: heartbeat`, error));
  rt.background.track(beat());
  const timer = setInterval(() => rt.background.track(beat()), site.heartbeatMs);
  return { stop: () => clearInterval(timer) };
}

/** The sites as the log's heartbeats say, followed live: what the coordinator routes by. */
export async function watchSites(store: EventLog): Promise<SiteWatch> {
  const sites = new Map<string, Site>();
  const since = Date.now();
  const listeners = new Set<() => void>();
  const fold = (event: StoredEvent) => {
    // A site that comes up (or back): tasks waiting for one may go now.
    const site = event.taskId ?? '';
    const before = sites.get(site);
    foldSites(sites, event);
    if (cameUp(before, sites.get(site), Date.now())) for (const l of listeners) l();
  };
  const subscription = await store.follow(
    { subject: eventSubjects.sites(), from: new Date(Date.now() - SITES_LOOKBACK_MS) },
    fold,
  );
  return {
    live: (nowMs = Date.now()) => liveSites(sites, nowMs),
    dead: (site, nowMs = Date.now()) => isDead(sites.get(site), nowMs, since),
    confirmDead: async (site) => {
      // A read that fails confirms nothing new: the beats folded so far decide.
      const last = await store.lastEvent(eventSubjects.of(SITES_RUN, site, 'SiteHeartbeat')).catch(() => undefined);
      // A stalled process has not folded the beats waiting for it: the last one says if the site beats.
      if (last) fold(last);
      return isDead(sites.get(site), Date.now(), since);
    },
    changed: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => subscription.stop(),
  };
}
