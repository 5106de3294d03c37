import type { EventLog } from '../events/event-log.ts';
import { eventSubjects } from '../events/subjects.ts';
import { resolveConfinement, type Confinement } from '../exec/sandbox.ts';
import { DirtyPaths } from '../workspace/git.ts';
import { SiteCopies } from '../workspace/site-copies.ts';
import { retryPolicies } from '../nats/retry-policies.ts';
import { retryTransient } from '../nats/transient.ts';
import { RunTrees } from '../workspace/run-trees.ts';
import { workdirRefusal } from '../workspace/workdir-guard.ts';
import { viewsAhead } from './task-view.ts';
import type { Runtime } from '../actors/actor.ts';
import type { RecordedRun } from '../actors/executor/decide.ts';

/** What the executor keeps between tasks in one process. */
export type Executing = {
  /** Decided once per process (probing bubblewrap once), the same for every command. */
  confinement(): Promise<Confinement>;
  /** The working trees of the runs executing here: what each task changed (src/workspace). */
  trees: RunTrees;
  /** The runs work was taken for, as their RunStarted records them: what an item is checked against. */
  runs: RecordedRuns;
  /** What each run found not committed (`--commit` leaves it out of every commit). */
  dirty: DirtyPaths;
  /** At a site (`--site`): its copies of the runs' projects, where their tasks run. */
  copies?: SiteCopies;
  /** Stops following what it follows (a site, the runs that start). */
  close(): Promise<void>;
};

/** Opens what the executor keeps between tasks. */
export async function openExecuting(rt: Runtime): Promise<Executing> {
  // Probed now, in the background, so that the first command does not wait for it; a failure
  // (bwrap required and missing) surfaces where a command needs it.
  const confinement: Promise<Confinement> = resolveConfinement(
    rt.config,
    (m) => rt.log.warn(m),
    (m) => rt.log.info(m),
  );
  confinement.catch(() => undefined);
  const copies = rt.config.site ? siteCopies(rt, rt.config.site.name, confinement) : undefined;
  // A site readies a run's copy as the run starts, before its first task is routed here.
  const starts = copies
    ? await rt.store.follow({ subject: eventSubjects.type('RunStarted') }, (e) => {
        if (e.type === 'RunStarted' && e.data.project?.snapshot !== undefined)
          copies.prepare(e.runId, e.data.project.snapshot, e.seq);
      })
    : undefined;
  return {
    ...(copies ? { copies } : {}),
    confinement: () => confinement,
    trees: new RunTrees(rt.config.changes),
    runs: new RecordedRuns(rt.store),
    dirty: new DirtyPaths(),
    close: async () => {
      copies?.close();
      await starts?.stop();
    },
  };
}

/** A site's copies of its runs' projects, each with its tasks' views mounted ahead once unpacked. */
function siteCopies(rt: Runtime, site: string, confinement: Promise<Confinement>): SiteCopies {
  const { stateDir } = rt.config;
  const retry = <T>(read: () => Promise<T>) =>
    retryTransient(read, retryPolicies.materialise, {
      onRetry: (error, attempt) =>
        rt.log.warn(`reading a run's project failed (try ${attempt + 1}); trying again: ${(error as Error).message}`),
    });
  const unpacked = (dir: string) =>
    void confinement.then(
      (c) => viewsAhead(dir, stateDir, c, rt.config.execution.isolation),
      () => undefined,
    );
  return new SiteCopies(site, stateDir, rt.store, rt.contents, retry, unpacked);
}

/**
 * The runs this executor has taken work for, each read from the log once (a run of 1,600 tasks
 * costs one read, not 1,600). A run not found is read again next time: it costs an attacker's
 * items a read each, and keeps nothing of them.
 */
class RecordedRuns {
  private readonly known = new Map<string, Promise<RecordedRun | undefined>>();

  constructor(private readonly store: EventLog) {}

  get(runId: string): Promise<RecordedRun | undefined> {
    let run = this.known.get(runId);
    if (!run) {
      run = this.read(runId);
      this.known.set(runId, run);
      void run.then(
        (r) => r ?? this.known.delete(runId),
        () => this.known.delete(runId),
      );
    }
    return run;
  }

  private async read(runId: string): Promise<RecordedRun | undefined> {
    const started = await this.store.lastEvent(eventSubjects.of(runId, undefined, 'RunStarted'));
    if (started?.type !== 'RunStarted') return undefined;
    const { workdir, taskIds, project } = started.data;
    return {
      workdir,
      taskIds: new Set(taskIds),
      forbidden: await workdirRefusal(workdir),
      snapshot: project?.snapshot,
      startSeq: started.seq,
    };
  }
}
