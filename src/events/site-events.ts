import * as z from 'zod';
import { defineEvent } from './event-envelope.ts';

/** Sites and routes: where a task's execute item goes, a site's heartbeat, an attempt lost with its site. */

/** The coordinator sent the task's execute item to a site's own queue (`attempt`: 0, then one more per reroute). */
export const TaskRouted = defineEvent(
  'TaskRouted',
  "the task's execute item sent to a site's own queue, with its route attempt and why there",
  z.object({ site: z.string(), attempt: z.number().int().nonnegative(), reason: z.string() }),
);
/**
 * The route attempt an executor's record belongs to (TaskRouted's `attempt`), on a site's
 * records only: a record of an attempt since superseded (its site was taken for dead) is discarded.
 */
export const routeAttempt = { routeAttempt: z.number().int().nonnegative().optional() };
/** What a record made for an execute item says of its route attempt: nothing unless it was routed. */
export const routeAttemptOfItem = (item: { route?: { attempt: number } | undefined }): { routeAttempt?: number } =>
  item.route ? { routeAttempt: item.route.attempt } : {};
/**
 * A site taken for dead (silent for three beats) while it held the task's current route attempt:
 * an infrastructure loss (Buildkite's `agent_stop`), not the task's failure; the task is routed again.
 */
export const TaskAttemptLost = defineEvent(
  'TaskAttemptLost',
  "the site holding the task's attempt was taken for dead: the task is routed again",
  z.object({ site: z.string(), attempt: z.number().int().nonnegative(), reason: z.enum(['site-dead']) }),
);
/** No live site meets what the task asks (`Site:`, `Needs:`): it waits for one, and this says why. */
export const TaskWaiting = defineEvent(
  'TaskWaiting',
  'no live site meets what the task asks: it waits, and why',
  z.object({ reason: z.string() }),
);
/** A site's executor is up (its run id SITES_RUN, its task id the site): what it can run, sent again every heartbeat. */
export const SiteHeartbeat = defineEvent(
  'SiteHeartbeat',
  "a site's executor is up: labels, slots, host, the beat's interval",
  z.object({
    site: z.string(),
    labels: z.array(z.string()),
    slots: z.number().int().positive(),
    host: z.string(),
    pid: z.number().int(),
    /** The next beat comes within this: a site silent for three of them is taken for dead. */
    intervalMs: z.number().int().positive(),
  }),
);
