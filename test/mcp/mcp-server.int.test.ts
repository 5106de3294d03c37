import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/tools.ts';
import { CLI } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';
import { gate } from '../helpers/outside.ts';

/**
 * The `core` tier's tools/list, in tokens estimated as characters / 4 of its JSON (names,
 * descriptions, input schemas): measured 714 (8 tools, 2,855 characters). A client loads it
 * into every conversation, so it stays small.
 */
const CORE_TOKEN_BUDGET = 750;

// Task 2 waits for a file the test writes once progress has come: progress arrives while the run goes.
const tasks = (wait: string) => `# Plan
- [ ] 1. Write a
  \`\`\`bash
  printf 'a\\n' > a.txt
  \`\`\`
- [ ] 2. Wait for the go file
  - Depends: 1
  \`\`\`bash
  ${wait}
  printf 'b\\n' > b.txt
  \`\`\`
- [ ] 3. Write c
  - Depends: 2
  \`\`\`bash
  printf 'c\\n' > c.txt
  \`\`\`
`;

let nats: Awaited<ReturnType<typeof startTestNats>>;
const dirs: string[] = [];
/** Each project's gate, which task 2 waits on. */
const gates = new Map<string, Awaited<ReturnType<typeof gate>>>();
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  await Promise.all([...gates.values()].map((g) => g.remove()));
});

async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-mcp-'));
  dirs.push(dir);
  const go = await gate();
  gates.set(dir, go);
  await writeFile(join(dir, 'tasks.md'), tasks(go.wait));
  return dir;
}

const env = () => ({ ...(process.env as Record<string, string>), NATS_URL: nats.url });
const textOf = (result: Awaited<ReturnType<Client['callTool']>>) =>
  (result.content as { type: string; text: string }[]).map((c) => c.text).join('\n');

/** The whole round: tools, a run started, followed with progress, its status, a task's diff, reverted. */
async function aRunThroughMcp(client: Client, dir: string): Promise<void> {
  const { tools } = await client.listTools();
  const core = Object.entries(TOOLS).filter(([, t]) => t.tier === 'core');
  expect(tools.map((t) => t.name).sort()).toEqual(core.map(([name]) => name).sort());
  expect(JSON.stringify(tools).length / 4).toBeLessThan(CORE_TOKEN_BUDGET);

  const listed = JSON.parse(textOf(await client.callTool({ name: 'list_tasks', arguments: { file: 'tasks.md' } }))) as {
    tasks: { id: string; done: boolean }[];
  };
  expect(listed.tasks.map((t) => [t.id, t.done])).toEqual([
    ['1', false],
    ['2', false],
    ['3', false],
  ]);

  const started = await client.callTool({ name: 'start_run', arguments: { file: 'tasks.md' } });
  expect(started.isError).toBeFalsy();
  const { runId } = JSON.parse(textOf(started)) as { runId: string };

  const progress: { progress: number; total?: number }[] = [];
  const followed = await client.callTool({ name: 'follow_run', arguments: { runId } }, undefined, {
    timeout: 120_000,
    resetTimeoutOnProgress: true,
    onprogress: (p) => {
      progress.push(p);
      if (p.progress >= 1) void gates.get(dir)!.open();
    },
  });
  expect(textOf(followed)).toBe(`run ${runId}: succeeded`);
  // Tasks 2 and 3 ended after the go file: each was told as it happened, the count rising to all 3.
  expect(progress.map((p) => p.progress).slice(-2)).toEqual([2, 3]);
  expect(progress.at(-1)?.total).toBe(3);

  let status: { state: string; tasks: { id: string; state: string }[] };
  do {
    status = JSON.parse(textOf(await client.callTool({ name: 'run_status', arguments: { runId } }))) as typeof status;
  } while (status.state !== 'succeeded' && status.state !== 'failed');
  expect(status.state).toBe('succeeded');
  expect(status.tasks.map((t) => t.state)).toEqual(['completed', 'completed', 'completed']);

  const diff = textOf(await client.callTool({ name: 'task_diff', arguments: { runId, taskId: '3' } }));
  expect(diff).toContain('c.txt');
  expect(diff).toContain('+c');
  const reverted = await client.callTool({ name: 'revert_task', arguments: { runId, taskId: '3' } });
  expect(reverted.isError, textOf(reverted)).toBeFalsy();
  await expect(access(join(dir, 'c.txt'))).rejects.toThrow();
  expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toContain('- [ ] 3. Write c');

  const log = await client.readResource({ uri: `implement-agent://runs/${runId}/events` });
  const types = (log.contents[0] as { text: string }).text
    .split('\n')
    .map((l) => (JSON.parse(l) as { type: string }).type);
  expect(types).toContain('RunFinished');
  expect(types.at(-1)).toBe('TaskReverted');

  // Errors are tool errors, in the words the CLI prints.
  const unknown = await client.callTool({ name: 'run_status', arguments: { runId: 'nope' } });
  expect(unknown.isError).toBe(true);
  expect(textOf(unknown)).toContain('implement-agent: no events for run nope in this log');
  const invalid = await client.callTool({ name: 'run_status', arguments: { runId: 'not a run' } });
  expect(invalid.isError).toBe(true);
}

describe('implement-agent mcp', () => {
  it('over stdio: the SDK client lists the core tools, runs a list with progress, reads its status, diffs and reverts a task', async () => {
    const dir = await project();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp'],
      cwd: dir,
      env: env(),
      stderr: 'inherit',
    });
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(transport);
    try {
      await aRunThroughMcp(client, dir);
    } finally {
      await client.close();
    }
  }, 180_000);

  it('over --http on 127.0.0.1: the same round, and a foreign Host header is refused', async () => {
    const dir = await project();
    const server = execa(process.execPath, [CLI, 'mcp', '--http'], { cwd: dir, env: env(), reject: false });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let said = '';
        server.stderr.on('data', (chunk: Buffer) => {
          said += chunk.toString();
          const found = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(said)?.[1];
          if (found) resolve(found);
        });
        void server.then((r) => reject(new Error(`mcp --http ended: ${r.stderr}`)));
      });
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        await aRunThroughMcp(client, dir);
      } finally {
        await client.close();
      }
      // fetch may not set Host: node:http may, as a page's DNS-rebound request would carry it.
      const foreign = await new Promise<number>((resolve, reject) => {
        const req = request(url, {
          method: 'POST',
          headers: {
            Host: 'evil.example',
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      });
      expect(foreign).toBe(403);
    } finally {
      server.kill('SIGTERM');
      expect((await server).exitCode).toBe(0);
    }
  }, 180_000);
});
