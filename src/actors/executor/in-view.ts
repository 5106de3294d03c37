import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent, type StoredEvent } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import { eventSubjects } from '../../events/subjects.ts';
import type { ExecuteTask } from '../../events/work-commands.ts';
import { viewsDir } from '../../exec/sandbox.ts';
import type { Conflict } from '../../workspace/merge.ts';
import { append, type ActorIO } from '../actor.ts';
import { commitTask, runTaskMachine } from './run-task.ts';
import { TaskFileRecords } from './file-records.ts';
import { rerunPoint, type ResumePoint } from './resume.ts';
import { supersededBy } from './admission.ts';
import { executorEffects, type Executing } from './task-io.ts';
import { contentNow, openViewSpace, type ViewSpace } from './task-space.ts';
import type { TaskEnd } from './types.ts';

/** How a task's execution ended, before its outcome is recorded. */
export type Ended = { result: TaskEnd; commit?: string | undefined; after?: () => Promise<void> };

/** Runs of a task after its first merge met a conflict (`execution.onConflict: "retry"`). */
export const CONFLICT_RETRIES = 2;

const warned = new Set<string>();

/**
 * Runs a task in its own copy-on-write view (docs/isolation.md): its commands see the working
 * directory as it was when the view began plus their own writes; its change set is the view's
 * upper layer, recorded, then merged on success before the outcome is recorded (so dependants
 * see it), with the commit made in the same turn. A failure's view is discarded; a conflict's
 * too, and the task runs again on the new state or fails naming the paths. Where no overlay can
 * be had, `inFolder` runs it in the folder itself, and why is said once.
 */
export async function executeInView(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  resume: ResumePoint | undefined,
  inFolder: () => Promise<Ended>,
  startOver = false,
): Promise<Ended> {
  const { rt } = io;
  const confinement = await io.resources.confinement();
  const dirty = item.commit ? io.resources.dirty.of(item.runId, item.workdir) : Promise.resolve(new Set<string>());
  dirty.catch(() => undefined);
  // A task whose executor died goes on in the view it left; one whose view is gone starts over.
  const kept = existsSync(join(viewsDir(rt.config.stateDir), item.runId, item.taskId, 'started'));
  let point = resume && !kept && !startOver ? rerunPoint(recorded) : resume;
  let fresh = startOver || !(resume && kept);
  const files = new TaskFileRecords(io, item, recorded);
  let discards = recorded.filter((e) => e.type === 'TaskRolledBack').length;
  for (let round = 0; ; round++) {
    let space: ViewSpace;
    try {
      space = await openViewSpace(item, rt.config.stateDir, confinement, rt.config.changes, fresh);
    } catch (error) {
      const why = (error as Error).message;
      if (!warned.has(why)) rt.log.warn(`tasks run in the shared folder, not in views of their own: ${why}`);
      warned.add(why);
      return inFolder();
    }
    const effects = executorEffects(
      io,
      item,
      { before: (p) => contentNow(item.workdir, p), view: space.view, round },
      (fix) => files.record(space.checkpoint(), fix),
    );
    // A machine that threw leaves the view as it is: a resume goes on in it.
    const result = await runTaskMachine(io, item, effects, point).catch(async (error: unknown) => {
      await space.close(true);
      throw error;
    });
    await io.flushed();
    const end = space.finish();
    await files.record(end);
    const discard = async () => {
      await space.close(!result.ok && rt.config.execution.onFailure === 'keep');
      // A view that holds no change is gone without a word: nothing of the task was undone.
      if (files.changes().length === 0) return;
      const id = eventIds.taskRecord(item.runId, item.taskId, 'TaskRolledBack', discards++);
      await io.perform([
        append(
          makeEvent(
            'TaskRolledBack',
            { runId: item.runId, taskId: item.taskId, id },
            {
              restored: [],
              kept: [],
              discarded: true,
            },
          ),
        ),
      ]);
    };
    if (!result.ok) {
      await discard();
      return { result };
    }
    // An attempt lost with its site and since routed elsewhere: its change set is never applied.
    const superseded = await supersededBy(rt.store, item);
    if (superseded) {
      await discard();
      return { result: { ok: false, stage: 'execution', reason: `not applied: ${superseded}` } };
    }
    const merged = await space.merge(end.steps, async (outcome) => {
      if (!outcome.merged) return { conflicts: outcome.conflicts, commit: undefined };
      for (const r of outcome.refused) rt.log.warn(`task ${item.taskId}: ${r.path} not merged: ${r.reason}`);
      const ignoring = await dirty.catch(() => new Set<string>());
      const paths = files.changedPaths().filter((p) => !ignoring.has(p));
      // Unverified is not success: its files land, uncommitted.
      const commit = item.commit && result.evidence !== 'none' ? await commitTask(io, item, paths) : undefined;
      return { conflicts: undefined, commit };
    });
    // The holder's end and the view's removal wait until the outcome is recorded: dependants start sooner.
    if (!merged.conflicts) return { result, commit: merged.commit, after: () => space.close() };
    await discard();
    const reason = conflictReason(merged.conflicts);
    if (rt.config.execution.onConflict === 'fail' || round >= CONFLICT_RETRIES)
      return { result: { ok: false, stage: 'conflict', reason, conflicts: merged.conflicts } };
    rt.log.info(`task ${item.taskId}: ${reason}; running it again on the new state`);
    files.restart();
    fresh = true;
    point = rerunPoint(await rt.store.read({ subject: eventSubjects.task(item.runId, item.taskId) }));
  }
}

export const conflictReason = (conflicts: readonly Conflict[]): string =>
  `${conflicts.map((c) => `${c.path} (changed by ${c.by})`).join(', ')} changed since the task's view began; nothing of it was applied`;
