import type { ChangedInput } from '../../context/project-files.ts';
import type { StartRun } from '../../events/work-commands.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import type { ActorIO } from '../actor.ts';
import type { SiteWatch } from '../../projections/sites.ts';
import { decisionEffects } from './core.ts';
import type { Decision } from './decide.ts';
import { placement } from './routing.ts';

type Execute = Extract<Decision, { kind: 'execute' }>;
type Observed = { startedAt?: string; changed: ChangedInput[]; now: number };
type Resources = { sites: SiteWatch };

/**
 * One run's execute items on their way to a site: placed when decided, held while no live site
 * meets the task's needs (tried again when a site comes up), and placed again elsewhere when
 * the site has not started the task within `siteStartTimeoutMs` (Temporal's schedule-to-start).
 */
export class Routing {
  private readonly held = new Map<string, () => void>();
  /** Where this coordinator sent each task last: its load counts before the TaskRouted is folded. */
  private readonly placed = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
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
  }

  async execute(decision: Execute, observed: Observed, attempt = 0, avoid: readonly string[] = []): Promise<void> {
    if (this.stopped) return;
    const { io, start } = this;
    const place = placement(this.status(), decision.taskId, io.resources.sites.live(), attempt, avoid, this.placed);
    if (place.kind === 'shared') {
      await io.perform(decisionEffects(start, decision, observed));
      return;
    }
    if (place.kind === 'waiting') {
      this.held.set(decision.taskId, () => {
        this.held.delete(decision.taskId);
        void this.execute(decision, observed, attempt, avoid).catch((e: unknown) => this.failed(decision, e));
      });
      await io.perform([place.record]);
      return;
    }
    this.placed.set(decision.taskId, place.site);
    await io.perform([place.record, ...decisionEffects(start, decision, { ...observed, site: place })]);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const task = this.status().tasks[decision.taskId];
      if (!task || task.started || task.state !== 'planned') return;
      void this.execute(decision, observed, attempt + 1, [...avoid, place.site]).catch((e: unknown) =>
        this.failed(decision, e),
      );
    }, io.rt.config.siteStartTimeoutMs);
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    this.unwatch();
    this.held.clear();
    for (const t of this.timers) clearTimeout(t);
  }

  private failed(decision: Execute, error: unknown): void {
    this.io.rt.log.error(`run ${this.start.runId}: routing task ${decision.taskId}`, error);
  }
}
