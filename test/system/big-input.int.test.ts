import { readFile, stat } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_INLINE_START_BYTES } from '../../src/host/start-item.ts';
import { encodeJson } from '../../src/events/codec.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { NatsContents } from '../../src/nats/nats-requests.ts';
import { parseTaskList } from '../../src/tasklist/tasks-parser.ts';
import { contentHash } from '../../src/workspace/work-tree.ts';
import { execa } from 'execa';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * Input the tool must survive, run for real: a task list larger than a NATS message (its start
 * item goes to the content store, the item carries its hash), and a Depends: chain end to end.
 */
const nats = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

/** `n` independent tasks of one quick command, each with enough description to make the file `bytes` long. */
function bigList(n: number, bytes: number): string {
  const filler = `  - ${'Keep the behaviour the requirements describe, and say why. '.repeat(2)}\n`;
  const perTask = Math.ceil(bytes / n / filler.length);
  return Array.from(
    { length: n },
    (_, i) =>
      `- [ ] ${i + 1}. Step ${i + 1}\n${filler.repeat(perTask)}  - Depends: none\n  \`\`\`bash\n  true\n  \`\`\`\n`,
  ).join('');
}

describe('input the tool must survive', () => {
  it('runs a 1.3 MB tasks.md of many small explicit tasks: its start item goes by the content store', async () => {
    const text = bigList(400, 1.3 * 1024 * 1024);
    const { dir, tasks } = await ws.make(text);
    expect((await stat(tasks)).size).toBeGreaterThan(1.3 * 1024 * 1024);
    const result = await execa(process.execPath, [CLI, 'run', tasks, '--workdir', dir, '--task-concurrency', '8'], {
      reject: false,
      env: { NATS_URL: nats.url },
      timeout: 480_000,
    });
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
    expect(result.stdout).toContain('400 completed, 0 failed, 0 skipped');
    expect(await readFile(tasks, 'utf8')).toBe(text.replaceAll('- [ ]', '- [x]'));
    // The tasks went to the content store under their sha256, not in the message.
    const parsed = encodeJson(parseTaskList(text, tasks).tasks);
    expect(parsed.byteLength).toBeGreaterThan(MAX_INLINE_START_BYTES);
    const nc = await connectNats(nats.url, 'inspect');
    try {
      expect(await new NatsContents(nc, 1).get(contentHash(parsed))).toEqual(parsed);
    } finally {
      await nc.close();
    }
  }, 600_000);

  it('runs a Depends: chain end to end, last task first', async () => {
    const chain = [1, 2, 3, 4, 5]
      .map(
        (i) =>
          `- [ ] ${i}. Step ${i}\n  - Depends: ${i < 5 ? i + 1 : 'none'}\n  \`\`\`bash\n  echo ${i} >> order.txt\n  \`\`\`\n`,
      )
      .join('');
    const { dir, tasks } = await ws.make(chain);
    const { result, events } = await runCli(['run', tasks, '--workdir', dir, '--task-concurrency', '4'], {
      NATS_URL: nats.url,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(ofType(events, 'TaskCompleted').map((e) => e.taskId)).toEqual(['5', '4', '3', '2', '1']);
    expect(await readFile(`${dir}/order.txt`, 'utf8')).toBe('5\n4\n3\n2\n1\n');
  });
});
