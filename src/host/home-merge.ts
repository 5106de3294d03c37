import type { StoredEvent } from '../events/agent-events.ts';
import type { ContentStore } from '../events/bus.ts';
import type { StartRun } from '../events/work-commands.ts';
import { applyChangeSet } from '../workspace/change-sets.ts';
import { commitMessage } from '../workspace/commit-message.ts';
import { commitPaths, dirtyPaths } from '../workspace/git.ts';
import { serialized, type Conflict } from '../workspace/merge.ts';
import { currentHash } from '../workspace/restore.ts';
import { CHANGE_SET_TYPES, changesByTask } from '../workspace/run-changes.ts';
import { retryPolicies } from '../nats/retry-policies.ts';
import { retryTransient } from '../nats/transient.ts';
import { currentAttempts } from '../projections/attempts.ts';
import { HOME_SITE } from '../projections/sites.ts';

/** A remote task's change set that did not come home: its conflicts, or why it could not be brought. */
export type NotHome = { taskId: string; conflicts: Conflict[] } | { taskId: string; error: string };

/**
 * The submitter's side of a run whose tasks ran at sites (docs/scaling.md, "Sites"): each task
 * routed to a site ran in the site's copy of the project, so its change set (TaskFilesChanged,
 * contents in the content store) is merged here, into the user's working copy, once it completes.
 * Merges go one at a time, in the order the tasks completed (a dependant completes after its
 * dependencies), under the same lock as a local task's merge. A path that no longer holds what
 * the task found there is a conflict: nothing of that task is applied. With `--commit`, each
 * merged task is one commit of exactly its files.
 */
export class HomeMerge {
  /** Each task's records of CHANGE_SET_TYPES, in the order seen: its change set is its current attempt's (currentAttempts). */
  private readonly records = new Map<string, StoredEvent[]>();
  private readonly mergedBy = new Map<string, string>();
  private readonly dirty: Promise<Set<string>>;
  private queue: Promise<void> = Promise.resolve();
  readonly notHome: NotHome[] = [];

  constructor(
    private readonly rt: { contents: ContentStore; config: { stateDir: string } },
    private readonly start: StartRun,
    private readonly say: (line: string) => void,
  ) {
    this.dirty = start.options.commit ? dirtyPaths(start.workdir).then((p) => new Set(p)) : Promise.resolve(new Set());
    this.dirty.catch(() => undefined);
  }

  /** Follows the run's events: each task's records are kept, and a routed one's change set merged when it completes. */
  see(event: StoredEvent): void {
    if (!this.start.project?.snapshot || event.runId !== this.start.runId || event.taskId === undefined) return;
    const { taskId } = event;
    if (!CHANGE_SET_TYPES.has(event.type)) return;
    const records = this.records.get(taskId) ?? [];
    records.push(event);
    this.records.set(taskId, records);
    if (event.type !== 'TaskCompleted') return;
    // A superseded attempt's late completion (its site taken for dead) is not the task's; a task
    // whose current attempt was not routed to a site (or was routed home) merged its own view here.
    const current = currentAttempts(records);
    if (current.includes(event) && current.some((e) => e.type === 'TaskRouted' && e.data.site !== HOME_SITE)) {
      const commit = event.data.evidence !== 'none';
      // A change set already home is not applied twice (merge() checks), so a transient failure is tried again.
      this.queue = this.queue.then(() =>
        retryTransient(() => this.merge(taskId, commit), retryPolicies.home).catch((error: unknown) => {
          const message = (error as Error).message;
          this.notHome.push({ taskId, error: message });
          this.say(`✗ ${taskId}: its change set did not come home: ${message}`);
        }),
      );
    }
  }

  /** Resolves once every change set seen so far is home (or said not to be). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async merge(taskId: string, verified: boolean): Promise<void> {
    // Read when its turn comes: a task reopened by `resume` meanwhile has no change set of this attempt any more.
    const [task] = changesByTask(currentAttempts(this.records.get(taskId) ?? []));
    const files = task && !task.undone ? task.files : [];
    if (files.length === 0) return;
    const { workdir } = this.start;
    await serialized(
      workdir,
      async () => {
        // Seen again (a resumed run replays its events): a change set already home is not applied twice.
        const now = await Promise.all(files.map((f) => currentHash(workdir, f.path)));
        if (files.every((f, i) => now[i] === f.after)) return;
        const result = await applyChangeSet(workdir, files, this.rt.contents, (p) => this.mergedBy.get(p));
        if (!result.applied) {
          this.notHome.push({ taskId, conflicts: result.conflicts });
          const paths = result.conflicts.map((c) => `${c.path} (changed by ${c.by})`).join(', ');
          this.say(
            `✗ ${taskId}: its change set did not come home: ${paths} changed since the site's copy; nothing of it was applied`,
          );
          return;
        }
        for (const r of result.refused) this.say(`task ${taskId}: ${r.path} not merged: ${r.reason}`);
        for (const p of result.paths) this.mergedBy.set(p, `task ${taskId}`);
        if (this.start.options.commit && verified) await this.commit(taskId, result.paths);
      },
      this.rt.config.stateDir,
    );
  }

  private async commit(taskId: string, paths: string[]): Promise<void> {
    const dirty = await this.dirty.catch(() => new Set<string>());
    const spec = this.start.tasks.find((t) => t.id === taskId);
    const message = commitMessage({
      runId: this.start.runId,
      taskId,
      ...(spec ? { title: spec.title, description: spec.description, requirements: spec.requirements } : {}),
    });
    await commitPaths(
      this.start.workdir,
      paths.filter((p) => !dirty.has(p)),
      message,
    ).catch((error: unknown) => this.say(`task ${taskId}: not committed: ${(error as Error).message}`));
  }
}
