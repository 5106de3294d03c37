import { access, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type FileChange } from '../../src/events/agent-events.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { NatsContents } from '../../src/nats/nats-requests.ts';
import { contentHash } from '../../src/workspace/work-tree.ts';
import { CLI, runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * The attack: a forged TaskFilesChanged names a content stored under a name that is not its
 * sha256, or a path into .git or out of the working directory, and an ordinary `revert` writes
 * it (an executable .git/hooks/pre-commit runs, unconfined, at the next commit). Every content
 * read is checked against its name, every path against the working directory, before anything is
 * written: real git, a real nats-server, the real CLI.
 */
const nats = natsPerSuite();
const ws = workspaces();
const outside: string[] = [];
afterAll(async () => {
  await ws.cleanup();
  await Promise.all(outside.map((d) => rm(d, { recursive: true, force: true })));
});

// Side by side: each task in its own view, its record is exactly its own file (#36).
const TASKS = [1, 2, 3, 4, 5, 6]
  .map((n) => `- [ ] ${n}. Write t${n}\n  - Depends: none\n  \`\`\`bash\n  echo ${n} > t${n}.txt\n  \`\`\`\n`)
  .join('');
const HOOK = '#!/bin/sh\ntouch "$HOME/owned"\n';

let dir: string;
let runId: string;
const cli = (...args: string[]) =>
  execa(process.execPath, [CLI, ...args], { reject: false, cwd: dir, env: { NATS_URL: nats.url }, timeout: 120_000 });
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Appends a forged record of task `taskId`: `path` held `content` (stored under `name`) before, nothing after. */
async function forge(taskId: string, path: string, content: string, name = contentHash(Buffer.from(content))) {
  const nc = await connectNats(nats.url, 'forger');
  try {
    await new NatsContents(nc, 1).put(name, Buffer.from(content));
    const file: FileChange = {
      path,
      kind: 'file',
      before: name,
      after: null,
      beforeMode: 0o755,
      mode: null,
      size: content.length,
      stored: true,
    };
    await (
      await EventStore.open(nc)
    ).append(
      makeEvent('TaskFilesChanged', { runId, taskId }, { files: [file], ignored: [], skipped: [], alongside: [] }),
    );
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  ({ dir } = await ws.make(TASKS));
  await execa('git', ['-C', dir, 'init', '-q']);
  const { result, events } = await runCli(['run', join(dir, 'tasks.md'), '--workdir', dir], { NATS_URL: nats.url });
  expect(result.exitCode, result.stderr).toBe(0);
  runId = events[0]!.runId;
});

describe('revert and diff check what a record says', () => {
  it('refuses a content stored under a name that is not its sha256: says which path and content, writes nothing', async () => {
    const innocent = contentHash(Buffer.from('#!/bin/sh\necho hello\n'));
    await forge('1', 'run.sh', HOOK, innocent);
    const reverted = await cli('revert', runId, '1');
    expect(reverted.exitCode).toBe(1);
    expect(reverted.stderr).toContain(
      `run.sh: the content stored as ${innocent} has the sha256 ${contentHash(Buffer.from(HOOK))}`,
    );
    expect(await exists(join(dir, 'run.sh'))).toBe(false);
    // The task's real change (t1.txt created) is not undone either: nothing of the revert is written.
    expect(await readFile(join(dir, 't1.txt'), 'utf8')).toBe('1\n');
    expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toContain('- [x] 1.');

    const diff = await cli('diff', runId, '1');
    expect(diff.exitCode).toBe(1);
    expect(diff.stderr).toContain(`run.sh: the content stored as ${innocent}`);
    expect(diff.stdout).not.toContain('owned');
  });

  it('refuses a path into .git, even with a content that matches its hash', async () => {
    await forge('2', '.git/hooks/pre-commit', HOOK);
    const reverted = await cli('revert', runId, '2');
    expect(reverted.exitCode).toBe(1);
    expect(reverted.stderr).toContain(".git/hooks/pre-commit: it is inside a repository's .git");
    expect(await exists(join(dir, '.git/hooks/pre-commit'))).toBe(false);
    expect(await exists(join(dir, 't2.txt'))).toBe(true);
  });

  it('refuses a path out of the working directory, by .. or through a symlinked folder', async () => {
    const away = await mkdtemp(join(tmpdir(), 'ia-away-'));
    outside.push(away);
    await forge('3', `../${basename(away)}/planted`, HOOK);
    const up = await cli('revert', runId, '3');
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`../${basename(away)}/planted: not inside the working directory`);

    await mkdir(join(away, 'sub'));
    await symlink(join(away, 'sub'), join(dir, 'away-link'));
    await symlink('.git/hooks', join(dir, 'hooks-link'));
    await forge('4', 'hooks-link/pre-commit', HOOK);
    const linked = await cli('revert', runId, '4');
    expect(linked.exitCode).toBe(1);
    expect(linked.stderr).toContain(`hooks-link/pre-commit: leads through ${join(dir, '.git/hooks')}`);
    await forge('6', 'away-link/planted', HOOK);
    const away6 = await cli('revert', runId, '6');
    expect(away6.exitCode).toBe(1);
    expect(away6.stderr).toContain('away-link/planted: leads outside the working directory');
    expect(await exists(join(away, 'planted'))).toBe(false);
    expect(await exists(join(away, 'sub/planted'))).toBe(false);
    expect(await exists(join(dir, '.git/hooks/pre-commit'))).toBe(false);
  });

  it('reverts a task whose record holds up (the control)', async () => {
    const reverted = await cli('revert', runId, '5');
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    expect(await exists(join(dir, 't5.txt'))).toBe(false);
  });
});
