import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent } from '../../src/events/agent-events.ts';
import { eventIds } from '../../src/events/ids.ts';
import { MemoryContents } from '../../src/events/memory-bus.ts';
import type { StartRun } from '../../src/events/work-commands.ts';
import { HomeMerge } from '../../src/host/home-merge.ts';
import { newFile } from '../helpers/attempt-records.ts';

/**
 * The submitter's merge of a site task's change set (#40): a task whose site was taken for dead
 * is routed again, and the first attempt's records that arrive late (its change set, then its
 * view discarded) are not the task's. Before they were told apart, the late TaskRolledBack undid
 * the current attempt's change set: the run ended 0 with the task's file missing from the clone.
 */
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const runId = 'r1';
const taskId = '12';
const { file, bytes } = newFile('t12.txt', 'task 12\n');
const of = { runId, taskId };
const filesChanged = (attempt: number) =>
  makeEvent(
    'TaskFilesChanged',
    { ...of, id: eventIds.taskRecord(runId, taskId, 'TaskFilesChanged', 0, attempt) },
    { files: [file], ignored: [], skipped: [], alongside: [], routeAttempt: attempt },
  );

async function homeOf(events: AgentEvent[]): Promise<string> {
  const workdir = await mkdtemp(join(tmpdir(), 'ia-home-'));
  dirs.push(workdir);
  await writeFile(join(workdir, 'README.md'), 'a project\n');
  const contents = new MemoryContents();
  await contents.put(file.after!, bytes);
  // What the merge reads of a run's start: its id, folder, snapshot and whether to commit.
  const start = { runId, workdir, tasks: [], options: { commit: false }, project: { snapshot: 'base' } };
  const said: string[] = [];
  const home = new HomeMerge(
    { contents, config: { stateDir: join(workdir, '.implement-agent') } },
    start as unknown as StartRun,
    (line) => said.push(line),
  );
  events.forEach((e, i) => home.see({ ...e, seq: i + 1 }));
  await home.settled();
  expect(said).toEqual([]);
  return workdir;
}

describe('a site task routed again, its first attempt recording late', () => {
  it("brings home the current attempt's change set, whatever the superseded one records after the route", async () => {
    const workdir = await homeOf([
      makeEvent('TaskRouted', of, { site: 'west', attempt: 1, reason: 'least loaded' }),
      makeEvent('TaskRouted', of, { site: 'east', attempt: 2, reason: 'west taken for dead' }),
      filesChanged(1),
      filesChanged(2),
      makeEvent(
        'TaskRolledBack',
        { ...of, id: eventIds.taskRecord(runId, taskId, 'TaskRolledBack', 0, 1) },
        { restored: [], kept: [], discarded: true, routeAttempt: 1 },
      ),
      makeEvent('TaskCompleted', of, { durationMs: 1, commands: 1, recoveries: 0, routeAttempt: 2 }),
    ]);
    expect(await readFile(join(workdir, 't12.txt'), 'utf8')).toBe('task 12\n');
  });

  it("brings nothing home of a superseded attempt that completes late, and each attempt's records have ids of their own", async () => {
    const workdir = await homeOf([
      makeEvent('TaskRouted', of, { site: 'west', attempt: 1, reason: 'least loaded' }),
      makeEvent('TaskRouted', of, { site: 'east', attempt: 2, reason: 'west taken for dead' }),
      filesChanged(1),
      makeEvent('TaskCompleted', of, { durationMs: 1, commands: 1, recoveries: 0, routeAttempt: 1 }),
    ]);
    expect(await stat(join(workdir, 't12.txt')).catch(() => undefined)).toBeUndefined();
    expect(filesChanged(1).id).not.toBe(filesChanged(2).id);
  });

  it('brings home the outcome the run counts when the task is routed again after it, before its merge had its turn', async () => {
    const workdir = await homeOf([
      makeEvent('TaskRouted', of, { site: 'west', attempt: 1, reason: 'least loaded' }),
      filesChanged(1),
      makeEvent('TaskCompleted', of, { durationMs: 1, commands: 1, recoveries: 0, routeAttempt: 1 }),
      // The coordinator took west for dead before its fold had the completion: the executor leaves attempt 2.
      makeEvent('TaskRouted', of, { site: 'east', attempt: 2, reason: 'west taken for dead' }),
    ]);
    expect(await readFile(join(workdir, 't12.txt'), 'utf8')).toBe('task 12\n');
  });
});
