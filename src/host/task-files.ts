import { routeAttemptOfItem } from '../events/site-events.ts';
import { makeEvent, type StoredEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import type { ExecuteTask } from '../events/work-commands.ts';
import { retryPolicies } from '../nats/retry-policies.ts';
import { retryTransient } from '../nats/transient.ts';
import { commitMessage } from '../workspace/commit-message.ts';
import { commitPaths } from '../workspace/git.ts';
import type { TaskCapture } from '../workspace/run-trees.ts';
import { taskChanges, type TaskChanges } from '../workspace/task-changes.ts';
import type { TreeChange } from '../workspace/work-tree.ts';
import { append, type ActorIO } from '../actors/actor.ts';

/**
 * What one execution of a task changed, recorded as it goes: after each recovery fix and at the
 * end (TaskFilesChanged), the contents stored first so that a record never names a content the
 * store does not hold. It keeps every change in order, for the rollback of a failure.
 */
export class TaskFileRecords {
  private count: number;
  private readonly all: TreeChange[] = [];
  private readonly paths = new Set<string>();
  private readonly others = new Set<string>();

  constructor(
    private readonly io: ActorIO<unknown>,
    private readonly item: ExecuteTask,
    recorded: readonly StoredEvent[],
  ) {
    this.count = recorded.filter((e) => e.type === 'TaskFilesChanged').length;
  }

  /** Records `captured` (`fix`: right after that recovery fix); settles once the event is appended. */
  record(captured: TaskCapture, fix?: string): Promise<void> {
    if (captured.changes.length === 0 && captured.ignored.length === 0) return Promise.resolve();
    this.all.push(...captured.changes);
    for (const t of captured.alongside) this.others.add(t);
    const record = taskChanges(captured.changes, this.io.rt.config.changes.maxTaskBytes);
    for (const f of record.files) this.paths.add(f.path);
    return this.storeAndRecord(captured, record, this.count++, fix);
  }

  /** The task runs again from the start (its view discarded): what it changed so far is no longer its. */
  restart(): void {
    this.all.length = 0;
    this.paths.clear();
    this.others.clear();
  }

  /** Every change of this execution, oldest first: undone newest first, each path ends as it was. */
  changes(): readonly TreeChange[] {
    return this.all;
  }

  changedPaths(): string[] {
    return [...this.paths];
  }

  /** The tasks that ran in the same folder while any of these changes were made. */
  alongside(): string[] {
    return [...this.others];
  }

  private async storeAndRecord(captured: TaskCapture, record: TaskChanges, n: number, fix?: string): Promise<void> {
    const { rt } = this.io;
    const { runId, taskId, route } = this.item;
    try {
      await Promise.all(
        [...record.contents].map(([hash, bytes]) =>
          retryTransient(() => rt.contents.put(hash, bytes), retryPolicies.request),
        ),
      );
    } catch (error) {
      const reason = `the content store failed: ${(error as Error).message}`;
      rt.log.warn(`task ${taskId}: its changes are recorded without their contents (${reason})`);
      for (const f of record.files) if (f.stored) record.skipped.push({ path: f.path, reason });
      for (const f of record.files) f.stored = false;
    }
    const event = makeEvent(
      'TaskFilesChanged',
      { runId, taskId, id: eventIds.taskRecord(runId, taskId, 'TaskFilesChanged', n, route?.attempt) },
      {
        files: record.files,
        ignored: captured.ignored,
        skipped: record.skipped,
        alongside: captured.alongside,
        ...(fix ? { fix } : {}),
        ...routeAttemptOfItem(this.item),
      },
    );
    await this.io.perform([append(event)]);
  }
}

/** The task's files in one commit (`--commit`); a failure to commit is said and leaves the task completed. */
export async function commitTask(
  io: ActorIO<unknown>,
  item: ExecuteTask,
  paths: string[],
): Promise<string | undefined> {
  try {
    return await commitPaths(item.workdir, paths, commitMessage(item));
  } catch (error) {
    io.rt.log.warn(`task ${item.taskId}: not committed: ${(error as Error).message}`);
    return undefined;
  }
}
