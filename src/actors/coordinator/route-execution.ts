import type { StartRun } from '../../events/work-commands.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import type { ActorIO } from '../actor.ts';
import { HOME_SITE, type SiteWatch } from '../../projections/sites.ts';
import { decisionEffects, type Observed as DecisionObserved } from './effects.ts';
import type { Decision } from './decide.ts';
import { lostAttempt, placement } from './routing.ts';

type Execute = Extract<Decision, { kind: 'execute' }>;
/** What the host observed, before routing says where the item goes. */
type Observed = Omit<DecisionObserved, 'site'>;
type Resources = { sites: SiteWatch };

/** How often a run's routes are checked for a site taken for dead: well under a site's three beats. */
const LOST_CHECK_MS = 1000;

type Attempt = { decision: Execute; observed: Observed; attempt: number; avoid: readonly string[]; site: string };

/**
 * One run's execute items on their way to a site: placed when decided, held while no live site
 * meets the task's needs (tried again when a site comes up), and placed again elsewhere when
 * the site has not started the task within `siteStartTimeoutMs` (Temporal's schedule-to-start)
 * or is taken for dead before the task's outcome (the attempt recorded lost, Buildkite's agent_stop).
 */
export class Routing {
  private readonly held = new Map<string, () => void>();
  /** Where this coordinator sent each task last: its load counts before the TaskRouted is folded. */
  private readonly placed = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Each task's current attempt at a site, until its outcome. */
  private readonly routed = new Map<string, Attempt>();
  private readonly lostCheck: NodeJS.Timeout;
  private stopped = false;
  private readonly unwatch: () => void;

  constructor(
    private readonly io: ActorIO<Resources>,
    private readonly start: StartRun,
    private readonly status: () => RunStatus,
  ) {
    this.unwatch = io.resources.sites.changed(() => {
      for (const retry of [...this.held.values()]) retry();
    });
    this.lostCheck = setInterval(() => void this.rerouteLost(), LOST_CHECK_MS);
  }

  async execute(
    decision: Execute,
    observed: Observed,
    attempt = 0,
    avoid: readonly string[] = [],
    again?: string,
  ): Promise<void> {
    if (this.stopped) return;
    const { io, start } = this;
    const sent = new Map([...this.routed].map(([id, a]) => [id, a.site]));
    // A run started with no site up names no snapshot: a site could not make its project, so its
    // tasks stay on the shared queue (run by the submitter's executor) even once a site beats.
    const live = start.project?.snapshot === undefined ? [] : io.resources.sites.live();
    const place = placement(this.status(), decision.taskId, live, attempt, avoid, again, sent);
    if (place.kind === 'shared') {
      await io.perform(decisionEffects(start, decision, observed));
      return;
    }
    if (place.kind === 'waiting') {
      this.held.set(decision.taskId, () => {
        this.held.delete(decision.taskId);
        void this.execute(decision, observed, attempt, avoid, again).catch((e: unknown) => this.failed(decision, e));
      });
      await io.perform([place.record]);
      return;
    }
    const home = place.site === HOME_SITE;
    // Home is this run's own side: no beats to miss, and no other place to go when it is slow to start.
    if (!home) this.routed.set(decision.taskId, { decision, observed, attempt, avoid, site: place.site });
    await io.perform([place.record, ...decisionEffects(start, decision, { ...observed, site: place })]);
    if (home) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const task = this.status().tasks[decision.taskId];
      if (!task || task.started || task.state !== 'planned' || task.attempt !== attempt) return;
      void this.execute(
        decision,
        observed,
        attempt + 1,
        [...avoid, place.site],
        `not started at ${place.site} in time`,
      ).catch((e: unknown) => this.failed(decision, e));
    }, io.rt.config.siteStartTimeoutMs);
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    this.unwatch();
    this.held.clear();
    clearInterval(this.lostCheck);
    for (const t of this.timers) clearTimeout(t);
  }

  /** Each task whose current attempt's site is taken for dead: the loss recorded, the task routed again from its base. */
  private async rerouteLost(): Promise<void> {
    if (this.routed.size === 0) return;
    const status = this.status();
    for (const [taskId, a] of [...this.routed]) {
      const state = status.tasks[taskId]?.state;
      if (state !== 'planned' && state !== 'executing') {
        this.routed.delete(taskId);
        continue;
      }
      const { sites } = this.io.resources;
      if (!lostAttempt(status, taskId, a, (site) => sites.dead(site)) || this.stopped) continue;
      // This process may have stalled with the site's beats unread: its last beat, read from the log,
      // decides, and the task as folded by then (a check of the next second may have taken it meanwhile).
      const confirmed = await sites.confirmDead(a.site);
      const lost = confirmed && lostAttempt(this.status(), taskId, a, () => true);
      if (!lost || this.stopped || this.routed.get(taskId) !== a) continue;
      this.routed.delete(taskId);
      try {
        await this.io.perform([lost]);
        await this.execute(a.decision, a.observed, a.attempt + 1, [...a.avoid, a.site], `site ${a.site} was lost`);
      } catch (error) {
        this.failed(a.decision, error);
      }
    }
  }

  private failed(decision: Execute, error: unknown): void {
    this.io.rt.log.error(`run ${this.start.runId}: routing task ${decision.taskId}`, error);
  }
}
