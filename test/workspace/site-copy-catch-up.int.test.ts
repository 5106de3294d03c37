import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { makeEvent, type FileChange } from '../../src/events/agent-events.ts';
import type { ExecuteTask } from '../../src/events/work-commands.ts';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';
import { snapshotProject } from '../../src/workspace/project-snapshot.ts';
import { SiteCopies } from '../../src/workspace/site-copies.ts';
import { contentHash } from '../../src/workspace/work-tree.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * A site's copy follows the run's events, and before each task waits only for its follower to pass
 * what the run recorded so far (what that saves is the sites bench's to show). What must hold all
 * the same: a change set seen before its task completed is applied once the completion comes, and
 * one already applied is never applied again (src/workspace/site-copies.ts).
 */
const server = natsPerSuite();
const runId = 'catch-up';
let rt: NatsRuntime;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ia-catch-up-'));
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', env: {} });
  rt = await openRuntime(server.url, config, 'catch-up-test', { info: () => {}, warn: () => {}, error: () => {} });
});
afterAll(async () => {
  await rt?.close();
  await rm(root, { recursive: true, force: true });
});

const item = (taskId: string, workdir: string): ExecuteTask => ({
  runId,
  taskId,
  workdir,
  plan: explicitPlan(parseTasks(`- [ ] ${taskId}. X\n  \`\`\`bash\n  true\n  \`\`\``)[0]!),
  planEventId: `${runId}:${taskId}:PlanCreated`,
  llm: 'offline',
  commandConcurrency: 1,
  generation: 0,
});

/** Task `taskId`, run elsewhere, wrote `path` (from `before` to `text`). */
async function changed(taskId: string, path: string, text: string, before: string | null): Promise<string> {
  const bytes = Buffer.from(text);
  const hash = contentHash(bytes);
  await rt.contents.put(hash, bytes);
  const beforeMode = before === null ? null : 0o644;
  const file: FileChange = {
    path,
    kind: 'file',
    before,
    after: hash,
    beforeMode,
    mode: 0o644,
    size: bytes.length,
    stored: true,
  };
  await rt.store.append(
    makeEvent('TaskFilesChanged', { runId, taskId }, { files: [file], ignored: [], skipped: [], alongside: [] }),
  );
  return hash;
}

const completed = (taskId: string) =>
  rt.store.append(makeEvent('TaskCompleted', { runId, taskId }, { durationMs: 1, commands: 1, recoveries: 0 }));

describe('a site copy catching up', () => {
  it('applies what completed elsewhere since its last catch-up, a change read early once its task completes, nothing twice', async () => {
    const submitter = join(root, 'clone');
    await mkdir(submitter);
    await writeFile(join(submitter, 'a.txt'), 'a\n');
    const snapshot = await snapshotProject(submitter, rt.contents);
    const copies = new SiteCopies('s1', join(root, 'state'), rt.store, rt.contents);
    const place = async (taskId: string) => {
      const placed = await copies.place(item(taskId, submitter), snapshot);
      if (!('item' in placed)) throw new Error(`task ${taskId} refused: ${JSON.stringify(placed.refused)}`);
      return placed.item.workdir;
    };
    const text = (dir: string, path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined);

    const copy = await place('1');
    expect(await text(copy, 'a.txt')).toBe('a\n');
    const b1 = await changed('2', 'b.txt', 'b1\n', null);
    await completed('2');
    expect(await place('3')).toBe(copy);
    expect(await text(copy, 'b.txt')).toBe('b1\n');

    // Task 4's change is read by task 5's catch-up before task 4 completes: not applied yet.
    await changed('4', 'c.txt', 'c\n', null);
    await changed('6', 'b.txt', 'b2\n', b1);
    await completed('6');
    await place('5');
    expect(await text(copy, 'c.txt')).toBeUndefined();
    expect(await text(copy, 'b.txt')).toBe('b2\n');

    // Task 2's change set applied again would put b1 back over task 6's b2.
    await completed('4');
    await place('7');
    expect(await text(copy, 'c.txt')).toBe('c\n');
    expect(await text(copy, 'b.txt')).toBe('b2\n');
  });
});
