import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { makeEvent, type FileChange, type StoredEvent } from '../events/agent-events.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { blockersIn, taskGraph } from '../tasklist/task-graph.ts';
import { readTaskList } from '../tasklist/tick-file.ts';
import { untickTask } from '../tasklist/tasks-writer.ts';
import { TRAILERS } from '../workspace/commit-message.ts';
import { commitPaths, repositoryPrefix } from '../workspace/git.ts';
import { currentContent, currentHash, inside, restorePath } from '../workspace/restore.ts';
import { storedContent } from '../workspace/stored-content.ts';
import type { ContentStore } from '../events/bus.ts';
import type { Runtime } from '../actors/actor.ts';
import { planRevert, type RevertStep } from '../workspace/revert-plan.ts';
import { changesByTask, type TaskFiles } from '../workspace/run-changes.ts';
import { withRuntime } from './nats-session.ts';
import { natsFor } from './nats-for.ts';
import { recordedRun } from './recorded-run.ts';
import { startFromLog } from '../host/resume-run.ts';
import { colours } from './progress.ts';
import { planKeyOf } from '../projections/plan-cache.ts';
import { out, err } from './terminal.ts';

/**
 * `implement-agent revert <runId> <task> [--force] [--with-dependants]`: the task's files get
 * their before contents back (only where they still hold what it left, unless --force), its box
 * is unticked, TaskReverted is recorded, and a task that was committed gets a revert commit.
 * Exit 0 reverted, 1 refused (conflicts: nothing written), 2 bad input.
 */
export async function revertCommand(
  runId: string,
  taskId: string,
  flags: { force: boolean; withDependants: boolean },
): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(
    config,
    cwd,
    'revert',
    async (rt) => {
      const events = await recordedRun(rt, runId);
      const { workdir, tasksFile, tasks: specs } = startFromLog(runId, events);
      const run: RevertRun = { rt, runId, events, workdir, tasksFile, specs, byTask: changesByTask(events) };
      const { task, order } = revertOrder(run, taskId, flags.withDependants);
      const paths = [...new Set(order.flatMap((t) => t.files.map((f) => f.path)))];
      // A record that asks to write outside the working directory, into .git or the tool's own files is refused whole.
      for (const p of paths) await inside(workdir, p);
      const current = new Map(
        await Promise.all(
          paths.map(async (p) => [p, await currentHash(workdir, p).catch(() => 'unreadable')] as const),
        ),
      );
      const steps = planRevert(order, run.byTask, current);
      const conflicts = steps.flatMap((s) => s.conflicts.map((c) => ({ ...c, taskId: s.taskId })));
      if (conflicts.length && !flags.force) {
        for (const c of conflicts) err(`${colours.red('conflict')} ${c.path} (task ${c.taskId}): ${c.reason}`);
        err(`nothing written: ${conflicts.length} conflict(s); --force puts the before contents back over them`);
        return 1;
      }
      // Every content is checked before anything is written: in the store, and hashing to its name.
      const contents = await checkedContents(rt.contents, steps);
      for (const step of steps) await revertStep(run, step, contents);
      if (!task) {
        await untick(
          tasksFile,
          specs.find((t) => t.id === taskId),
        );
        await rt.store.append(
          makeEvent('TaskReverted', { runId, taskId }, { restored: [], forced: [], ...stale(events, taskId) }),
        );
        out(`task ${taskId} changed no file; its box is unticked`);
      }
      return 0;
    },
    // It writes the project's files: it waits for a run on them to finish, and needs the store.
    natsFor(config, cwd, { kind: 'run', create: false }),
  );
}

/** What a revert reads of its run: the log, where the run worked, its tasks and what each changed. */
interface RevertRun {
  rt: Runtime;
  runId: string;
  events: readonly StoredEvent[];
  workdir: string;
  tasksFile: string;
  specs: readonly TaskSpec[];
  byTask: TaskFiles[];
}

/** The tasks to undo, dependants first and the latest first: each is undone on top of what came after it. */
function revertOrder(
  run: RevertRun,
  taskId: string,
  withDependants: boolean,
): { task?: TaskFiles; order: TaskFiles[] } {
  if (!run.specs.some((t) => t.id === taskId)) throw new InputError(`run ${run.runId} has no task ${taskId}`);
  const byId = new Map(run.byTask.map((t) => [t.taskId, t]));
  const task = byId.get(taskId);
  if (task?.undone)
    throw new InputError(
      `task ${taskId} of run ${run.runId} was already ${task.undone === 'reverted' ? 'reverted' : 'rolled back'}`,
    );
  const dependants = dependantsOf(taskId, run.specs).flatMap((id) => {
    const t = byId.get(id);
    return t && !t.undone ? [t] : [];
  });
  if (dependants.length && !withDependants)
    err(
      colours.yellow(
        `task(s) ${dependants.map((t) => t.taskId).join(', ')} depend on task ${taskId} and are not reverted (--with-dependants reverts them first)`,
      ),
    );
  const order = [...(withDependants ? dependants : []).sort((a, b) => b.seq - a.seq), ...(task ? [task] : [])];
  return task ? { task, order } : { order };
}

/** Puts one task's files back, unticks its box, commits the revert where it was committed, and records TaskReverted. */
async function revertStep(run: RevertRun, step: RevertStep, contents: Map<FileChange, Uint8Array>): Promise<void> {
  const { rt, workdir, runId } = run;
  const writes = step.writes;
  // Forced: the conflicts written over (one whose contents were not stored cannot be). What
  // they hold now is stored first, so that forcing a revert loses nobody's edit.
  const forced = step.conflicts.map((c) => c.path).filter((path) => writes.some((w) => w.path === path));
  const overwritten = await keepCopies(rt.contents, workdir, forced);
  for (const w of writes) {
    await restorePath(
      workdir,
      w.path,
      w.before === null ? null : { kind: w.beforeKind ?? w.kind, bytes: contents.get(w)!, mode: w.beforeMode },
    );
  }
  await untick(
    run.tasksFile,
    run.specs.find((t) => t.id === step.taskId),
  );
  const stepTask = run.byTask.find((t) => t.taskId === step.taskId)!;
  const commit = await revertCommit(
    run,
    stepTask,
    writes.map((w) => w.path),
  );
  await rt.store.append(
    makeEvent(
      'TaskReverted',
      { runId, taskId: step.taskId },
      {
        restored: writes.map((w) => w.path),
        forced,
        ...(overwritten.length ? { overwritten } : {}),
        ...(commit ? { commit } : {}),
        ...stale(run.events, step.taskId),
      },
    ),
  );
  out(
    `reverted task ${step.taskId}: ${writes.length} file(s) restored${forced.length ? `, ${forced.length} forced` : ''}${commit ? `, commit ${commit.slice(0, 10)}` : ''}`,
  );
}

/** The plan a reverted task ran, named stale in TaskReverted: the next run plans the task anew. */
function stale(events: readonly StoredEvent[], taskId: string): { stalePlan?: string } {
  const key = planKeyOf(events, taskId);
  return key === undefined ? {} : { stalePlan: key };
}

/**
 * The before contents of every write of every step, each checked against its hash: a content
 * stored under a name that is not its sha256 refuses the whole revert, nothing written.
 */
async function checkedContents(
  store: ContentStore,
  steps: readonly RevertStep[],
): Promise<Map<FileChange, Uint8Array>> {
  const writes = steps.flatMap((s) => s.writes.map((w) => ({ w, taskId: s.taskId })));
  const contents = new Map<FileChange, Uint8Array>();
  for (const { w, taskId } of writes) {
    if (w.before === null) continue;
    const bytes = await storedContent(store, w.before, w.path);
    if (!bytes)
      throw new InputError(
        `the content store no longer holds the before content of ${w.path} (task ${taskId}): nothing was written`,
      );
    contents.set(w, bytes);
  }
  return contents;
}

/** Copies of what `--force` is about to write over, in the content store; said, so a person can get one back. */
async function keepCopies(
  store: ContentStore,
  workdir: string,
  paths: readonly string[],
): Promise<{ path: string; content: string }[]> {
  const kept: { path: string; content: string }[] = [];
  for (const path of paths) {
    const now = await currentContent(workdir, path);
    if (!now?.bytes) continue;
    await store.put(now.hash, now.bytes);
    kept.push({ path, content: now.hash });
    err(`${path}: what it held is kept in the agent_contents object store as ${now.hash}`);
  }
  return kept;
}

/** Tasks that wait for `taskId`, directly or through others. */
function dependantsOf(taskId: string, specs: readonly TaskSpec[]): string[] {
  const graph = taskGraph(specs);
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of specs) {
      if (out.has(t.id) || t.id === taskId) continue;
      if (blockersIn(graph, t).some((b) => b.id === taskId || out.has(b.id))) {
        out.add(t.id);
        grew = true;
      }
    }
  }
  return [...out];
}

async function untick(tasksFile: string, spec: TaskSpec | undefined): Promise<void> {
  if (!spec) return;
  const read = await readTaskList(tasksFile).catch(() => undefined);
  if (read === undefined) return;
  const updated = untickTask(read.text, spec.id, spec.line);
  if (updated !== read.text) await writeFile(tasksFile, updated, read.encoding);
}

/** A committed task's revert is a commit too: the restored paths, saying which commit it reverts. */
async function revertCommit(run: RevertRun, task: TaskFiles, paths: string[]): Promise<string | undefined> {
  const completed = run.events.find((e) => e.type === 'TaskCompleted' && e.taskId === task.taskId);
  const original = completed?.type === 'TaskCompleted' ? completed.data.commit : undefined;
  if (!original || (await repositoryPrefix(run.workdir)) === undefined) return undefined;
  const title = run.specs.find((t) => t.id === task.taskId)?.title ?? `task ${task.taskId}`;
  return commitPaths(run.workdir, paths, {
    title: `Revert "${title}"`,
    body: `This reverts commit ${original}.`,
    trailers: { [TRAILERS.run]: run.runId, [TRAILERS.task]: task.taskId },
  });
}
