import type { ChangedInput } from '../../context/project-files.ts';
import type { StoredEvent } from '../../events/agent-events.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { StartRunSchema, type StartRun } from '../../events/work-commands.ts';
import type { RunStatus } from '../../projections/run-status.ts';
import { runProjection } from '../../projections/runner.ts';
import { workInputs, type ActorDefinition, type ActorIO, type Runtime } from '../actor.ts';
import { decisionEffects, next, startEffects } from './effects.ts';
import { coordinatorState, runStage } from './state.ts';
import type { Decision } from './decide.ts';
import type { PlanInput } from '../../plan/plan-schema.ts';
import type { SiteWatch } from '../../projections/sites.ts';
import { Routing } from './route-execution.ts';

/** The I/O the coordinator asks of its host (src/host/actor-ports.ts). */
export type CoordinatorPorts = {
  /** The start item with its tasks (from the content store when they were too large for a message); undefined once dropped. */
  startItem(rt: Runtime, item: StartRun): Promise<StartRun | undefined>;
  /** Why commands must not run in this folder, if they must not (the user's home, the system's). */
  workdirRefusal(workdir: string): Promise<string | undefined>;
  /** The inputs a plan was made from that changed on disk since. */
  changedInputs(workdir: string, inputs: readonly PlanInput[]): Promise<ChangedInput[]>;
  /** The sites the log's heartbeats say are up, followed live (routing.ts routes by them). */
  watchSites(rt: Runtime): Promise<SiteWatch>;
};

type Coordinating = { active: Set<string>; ports: CoordinatorPorts; sites: SiteWatch };

/** The coordinator: takes `start` work items and drives each run to RunFinished. */
export const coordinatorActor = (ports: CoordinatorPorts): ActorDefinition<Coordinating> => ({
  name: 'coordinator',
  open: async (rt) => ({ active: new Set(), ports, sites: await ports.watchSites(rt) }),
  close: (resources) => resources.sites.stop(),
  inputs: workInputs({
    actor: 'coordinator',
    schema: StartRunSchema,
    parallel: () => 16,
    handle: async (item, io: ActorIO<Coordinating>) => {
      const { active, ports } = io.resources;
      const start = await ports.startItem(io.rt, item);
      if (!start) return [];
      // A resume request for a run this process is already driving: nothing more to do.
      if (active.has(start.runId)) return [];
      // A start item names its folder: never one where commands would reach the user's or the system's files.
      const forbidden = await ports.workdirRefusal(start.workdir);
      if (forbidden) {
        io.rt.log.warn(`start item of run ${start.runId} refused: ${forbidden}`);
        return [];
      }
      active.add(start.runId);
      try {
        await coordinateRun(io, start);
      } finally {
        active.delete(start.runId);
      }
      return io.signal.aborted ? 'unfinished' : [];
    },
  }),
});

/**
 * Runs one run to its end, or until it is interrupted or the coordinator stops. Safe to call again
 * for the same run (after a crash): the run status comes back from its snapshot and the tail of the
 * log, and only missing work is issued.
 */
async function coordinateRun(io: ActorIO<Coordinating>, start: StartRun): Promise<void> {
  const { rt } = io;
  const runLevel = await rt.store.read({ subject: eventSubjects.runLevel(start.runId) });
  const stage = runStage(runLevel);
  if (stage === 'new') await io.perform(startEffects(start));
  // Interrupted by the user and not resumed since: leave the run alone (decide() issues nothing
  // while a run is interrupted; this coordinator lets go, and `resume` brings one back).
  if (stage === 'interrupted') return;
  const knownSeq = Math.max(0, ...runLevel.map((e) => e.seq));
  // A finished run that `resume` reopened (TaskReopened, then RunResumed): its earlier end is not its end.
  const reopenedAt = reopenedSince(runLevel);
  let over: () => void = () => {};
  const ended = new Promise<void>((resolve) => (over = resolve));
  let issued = new Set<string>();
  // The state the routing reads (its timers too): the last one folded, from before the projection has caught up.
  let latest = coordinatorState(start.runId).initialState();
  const routing = new Routing(io, start, () => latest);
  const status = await runProjection(rt.store, rt.snapshots, coordinatorState(start.runId), {
    subject: eventSubjects.run(start.runId),
    everyEvents: rt.config.snapshots.everyEvents,
    everyMs: rt.config.snapshots.everyMs,
    onError: (error) => rt.log.error(`run ${start.runId}`, error),
    onEvent: async (state, event) => {
      latest = state;
      const step = next(state, issued);
      issued = step.issued;
      for (const decision of step.decisions) await perform(io, start, state, decision, routing);
      // A live interruption (one recorded after this coordinator started) ends its part once the
      // tasks executing have their outcome (and their ticks).
      const executing = Object.values(state.tasks).some((t) => t.state === 'executing');
      if ((state.finished && event.seq > reopenedAt) || (state.interrupted && event.seq > knownSeq && !executing))
        over();
    },
  });
  // Finished before this coordinator came (and not reopened since): nothing to do.
  await status.caughtUp();
  if (status.state().finished) over();
  const aborted = new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([ended, aborted]);
  routing.stop();
  await status.stop();
}

async function perform(
  io: ActorIO<Coordinating>,
  start: StartRun,
  status: RunStatus,
  decision: Decision,
  routing: Routing,
): Promise<void> {
  const changed =
    decision.kind === 'execute' || decision.kind === 'revalidate'
      ? await io.resources.ports.changedInputs(start.workdir, decision.planInputs)
      : [];
  const observed = { ...(status.startedAt ? { startedAt: status.startedAt } : {}), changed, now: Date.now() };
  if (decision.kind === 'execute' && changed.length === 0) return routing.execute(decision, observed);
  await io.perform(decisionEffects(start, decision, observed));
}

/** The seq of the RunResumed that followed the run's last RunFinished (a `resume` that reopened tasks), else 0. */
function reopenedSince(runLevel: readonly StoredEvent[]): number {
  let finished = 0;
  let resumed = 0;
  for (const e of runLevel) {
    if (e.type === 'RunFinished') finished = e.seq;
    if (e.type === 'RunResumed') resumed = e.seq;
  }
  return resumed > finished && finished > 0 ? resumed : 0;
}
