import { relative, resolve, join, isAbsolute } from 'node:path';
import { makeEvent, type AgentEvent, type AgentEventType, type StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { ContentStore } from '../events/bus.ts';
import type { EventLog, Subscription } from '../events/event-log.ts';
import type { ExecuteTask } from '../events/work-commands.ts';
import { applyChangeSet } from './change-sets.ts';
import { serialized } from './merge.ts';
import { unpackSnapshot } from './project-snapshot.ts';
import { CHANGE_SET_TYPES } from './run-changes.ts';
import { dueChanges } from './site-catch-up.ts';

type Copy = {
  dir: string;
  ready: Promise<void>;
  /** The completions whose change sets the copy holds. */
  applied: Set<string>;
  /** The run's events that say what changed and whose it is (CHANGE_SET_TYPES), as its follower hands them on. */
  changes: StoredEvent[];
  /** Where the follower of the run's events starts (its RunStarted), and the last sequence of them it passed. */
  from: number;
  passed: number;
  /** The follower, while it follows (one ended is started again, from where it was, by the next catch-up). */
  following?: Promise<Subscription>;
  /** Catch-ups waiting for the follower to pass a sequence. */
  waiting: Array<{ seq: number; resolve: () => void }>;
  /** The catch-up queued behind the copy's lock and not begun: tasks taken meanwhile share it. */
  queued?: Promise<void>;
};

/** What the follower hands on: the change sets' events, and the run's end (it stops there until the run goes on). */
const FOLLOWED: ReadonlySet<AgentEventType> = new Set([...CHANGE_SET_TYPES, 'RunFinished']);
/** How long a catch-up waits for the run's events to reach the site: past it, the task is refused here and routed again. */
const FOLLOW_WAIT_MS = 30_000;

/** Where a site keeps its copy of a run's project: `<stateDir>/projects/<run>`. */
const siteCopyDir = (stateDir: string, runId: string): string => resolve(stateDir, 'projects', runId);

/**
 * A site's copies of the projects of the runs it takes tasks of (docs/scaling.md, "Sites"): the
 * run's snapshot unpacked once per run under the site's own state folder, never at the
 * submitter's path, then kept up to date with the change sets of the run's tasks that completed
 * elsewhere, in the order they were recorded, before each task starts here. Tasks run here merge
 * into the copy as on one machine; the submitter brings their change sets home.
 */
export class SiteCopies {
  private readonly runs = new Map<string, Copy>();
  private closed = false;

  constructor(
    private readonly site: string,
    private readonly stateDir: string,
    private readonly store: EventLog,
    private readonly contents: ContentStore,
    /** Runs the copy's reads again while they fail for a passing reason (a cluster electing leaders). */
    private readonly retry: <T>(read: () => Promise<T>) => Promise<T> = (read) => read(),
    /** Readies what a task in a copy just unpacked needs besides it (its views, mounted ahead). */
    private readonly unpacked: (dir: string) => void = () => undefined,
  ) {}

  /**
   * The run's copy made as soon as the run starts (its RunStarted), before any of its tasks is
   * routed here: its first tasks do not wait for the unpack. A failure is left to the first task,
   * which unpacks again and says why.
   */
  prepare(runId: string, snapshot: string, startSeq: number): void {
    this.copyOf(runId, snapshot, startSeq).ready.catch(() => undefined);
  }

  /** Stops following the runs' events. */
  close(): void {
    this.closed = true;
    for (const copy of this.runs.values()) void copy.following?.then((f) => f.stop());
  }

  /**
   * The item as it runs here, in this site's copy of its run's project (brought up to date), its
   * paths moved into it and its commit left to the submitter; or the event that says why this
   * site cannot run it (the coordinator routes it again after the schedule-to-start timeout).
   */
  async place(
    item: ExecuteTask,
    snapshot: string | undefined,
    /** The sequence of the run's RunStarted: its events are followed from there. */
    startSeq = 1,
  ): Promise<{ item: ExecuteTask } | { refused: AgentEvent }> {
    try {
      if (snapshot === undefined)
        throw new Error(
          `the run names no project snapshot (no site was up when it started), and its folder ${item.workdir} is the submitter's`,
        );
      // Each try unpacks again if the last unpack failed, and applies only what is not yet applied.
      const copy = await this.retry(async () => {
        const copy = this.copyOf(item.runId, snapshot, startSeq);
        await copy.ready;
        await this.caughtUp(item.runId, copy);
        return copy;
      });
      return { item: moved(item, copy.dir) };
    } catch (error) {
      const reason = `site ${this.site} cannot materialise the run's project: ${(error as Error).message}`;
      return { refused: makeEvent('TaskWaiting', { runId: item.runId, taskId: item.taskId }, { reason }) };
    }
  }

  private copyOf(runId: string, snapshot: string, startSeq: number): Copy {
    let copy = this.runs.get(runId);
    if (!copy) {
      const dir = siteCopyDir(this.stateDir, runId);
      copy = {
        dir,
        ready: unpackSnapshot(dir, snapshot, this.contents).then(() => this.unpacked(dir)),
        applied: new Set(),
        changes: [],
        from: startSeq,
        passed: 0,
        waiting: [],
      };
      this.runs.set(runId, copy);
      this.follow(runId, copy);
      const made = copy;
      // A failed unpack is tried again by the next task, with a follower of its own.
      copy.ready.catch(() => {
        this.runs.delete(runId);
        void made.following?.then((f) => f.stop());
      });
    }
    return copy;
  }

  /**
   * Follows the run's events from where the copy's follower was: what a catch-up applies is
   * what it handed on, and a catch-up waits only for it to pass the run's last event, instead of
   * reading the run again for each task. It stops at the run's end; a `resume` starts it again.
   */
  private follow(runId: string, copy: Copy): void {
    if (copy.following || this.closed) return;
    const following = this.store.follow(
      {
        subject: eventSubjects.run(runId),
        from: Math.max(copy.from, copy.passed + 1),
        types: FOLLOWED,
        onPassed: (seq) => {
          copy.passed = seq;
          copy.waiting = copy.waiting.filter((w) => w.seq > seq || (w.resolve(), false));
        },
      },
      (e) => {
        if (e.type !== 'RunFinished') copy.changes.push(e);
        else void following.then((f) => f.stop());
      },
    );
    copy.following = following;
    void following
      .then(
        (f) => f.done,
        () => undefined,
      )
      .finally(() => {
        if (copy.following === following) copy.following = undefined;
      });
  }

  /** Once the copy's follower has passed `seq` (a catch-up's point); it is started again if it ended. */
  private reached(runId: string, copy: Copy, seq: number): Promise<void> {
    if (copy.passed >= seq) return Promise.resolve();
    this.follow(runId, copy);
    return new Promise((resolve, reject) => {
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        copy.waiting = copy.waiting.filter((w) => w !== waiter);
        reject(new Error(`the run's events up to ${seq} did not reach this site within ${FOLLOW_WAIT_MS / 1000} s`));
      }, FOLLOW_WAIT_MS);
      copy.waiting.push(waiter);
    });
  }

  /**
   * A catch-up that begins after this call, under the copy's lock: it reads all that was recorded
   * before the task was taken (its dependencies' completions among it). One queued and not begun
   * already does, so the tasks of a round share it rather than each reading the run in turn.
   */
  private caughtUp(runId: string, copy: Copy): Promise<void> {
    if (copy.queued) return copy.queued;
    const queued = serialized(
      copy.dir,
      () => {
        copy.queued = undefined;
        return this.catchUp(runId, copy);
      },
      this.stateDir,
    );
    // One that failed before it began (its lock) is not shared by the next tasks.
    queued.catch(() => {
      if (copy.queued === queued) copy.queued = undefined;
    });
    copy.queued = queued;
    return queued;
  }

  /** The change sets of the run's tasks completed elsewhere and not yet here (dueChanges), applied in the order recorded. */
  private async catchUp(runId: string, copy: Copy): Promise<void> {
    // All the run recorded before this task was taken (its dependencies' completions among it),
    // once the follower has handed it on.
    await this.reached(runId, copy, await this.store.lastSubjectSequence(eventSubjects.run(runId)));
    for (const due of dueChanges(copy.changes, this.site, copy.applied)) {
      await applyChangeSet(copy.dir, due.files, this.contents);
      copy.applied.add(due.completion);
    }
  }
}

/** The item's paths in the submitter's folder, moved into the site's copy; its commit is the submitter's to make. */
function moved(item: ExecuteTask, dir: string): ExecuteTask {
  const inCopy = (p: string) => {
    const rel = relative(item.workdir, resolve(item.workdir, p));
    return rel.startsWith('..') || isAbsolute(rel) ? p : join(dir, rel);
  };
  return {
    ...item,
    workdir: dir,
    commit: false,
    ...(item.tasksFile !== undefined ? { tasksFile: inCopy(item.tasksFile) } : {}),
    ...(item.ownFiles ? { ownFiles: item.ownFiles.map(inCopy) } : {}),
  };
}
