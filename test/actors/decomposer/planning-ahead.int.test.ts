import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlanner } from '../../helpers/demo-planner.ts';
import { startFakeLlm, type FakeLlm } from '../../helpers/fake-llm.ts';
import { ofType as of, runCli, workspaces } from '../../helpers/cli.ts';
import { startTestNats } from '../../helpers/nats.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let llm: FakeLlm;
const ws = workspaces();

beforeAll(async () => {
  server = await startTestNats();
  llm = await startFakeLlm({ latencyMs: 300, responder: demoPlanner({ commandSeconds: 0.3 }) });
});
afterAll(async () => {
  await llm?.close();
  await server?.stop();
  await ws.cleanup();
});

function run(w: { dir: string; tasks: string }, args: string[] = []) {
  return runCli(
    ['run', w.tasks, '--workdir', w.dir, ...args],
    { NATS_URL: server.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'test-key' },
    w.dir,
  );
}
const promptOf = (r: FakeLlm['requests'][number]) => r.messages.map((m) => m.content).join('\n');

describe('the planner sees the project', () => {
  it('puts the file tree (.gitignore respected) and the named file in the prompt, shared parts first and the task last', async () => {
    const w = await ws.make(
      '- [ ] 1. Add a `timeout` option beside `retries` in `src/config.js`\n  - Keep the default of 3 retries\n',
    );
    await mkdir(join(w.dir, 'src'), { recursive: true });
    await mkdir(join(w.dir, 'build'), { recursive: true });
    await mkdir(join(w.dir, 'node_modules/dep'), { recursive: true });
    await writeFile(join(w.dir, 'src/config.js'), 'module.exports = { retries: 3 };\n');
    await writeFile(join(w.dir, 'src/server.js'), 'require("./config");\n');
    await writeFile(join(w.dir, 'build/out.js'), 'generated\n');
    await writeFile(join(w.dir, 'node_modules/dep/index.js'), 'dep\n');
    await writeFile(join(w.dir, '.gitignore'), 'build/\n');
    const before = llm.requests.length;
    const { result, events } = await run(w);
    expect(result.exitCode, result.stderr).toBe(0);
    const calls = llm.requests.slice(before);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      const [system, shared, task] = call.messages;
      expect(system!.role).toBe('system');
      expect(shared!.content).toContain('src/config.js');
      expect(shared!.content).toContain('src/server.js');
      expect(shared!.content).not.toContain('build/out.js');
      expect(shared!.content).not.toContain('node_modules');
      expect(task!.content).toContain('module.exports = { retries: 3 };');
      expect(task!.content.indexOf('### src/config.js')).toBeLessThan(task!.content.indexOf('Task 1: Add a `timeout`'));
    }
    const inputs = of(events, 'PlanCreated')[0]!.data.inputs;
    expect(inputs).toEqual([{ path: 'src/config.js', checksum: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    // The two calls of one plan share their prefix: the stand-in reports it cached, as real endpoints do.
    const cached = of(events, 'LlmCalled').map((e) => e.data.cachedTokens ?? 0);
    expect(Math.max(...cached)).toBeGreaterThan(0);
  });

  it('does not serve a cached plan once a file the task names has changed', async () => {
    const w = await ws.make('- [ ] 1. Rename the `port` setting in `app/settings.json` to `listenPort`\n');
    await mkdir(join(w.dir, 'app'));
    await writeFile(join(w.dir, 'app/settings.json'), '{"port": 80}\n');
    expect((await run(w, ['--force'])).result.exitCode).toBe(0);
    await writeFile(join(w.dir, 'app/settings.json'), '{"port": 80}\n');
    const same = await run(w, ['--force']);
    expect(of(same.events, 'PlanCreated')[0]!.data.source).toBe('cache');
    await writeFile(join(w.dir, 'app/settings.json'), '{"port": 8080}\n');
    const changed = await run(w, ['--force']);
    expect(of(changed.events, 'PlanCreated')[0]!.data.source).toBe('llm');
    expect(of(changed.events, 'PlanCacheMiss')[0]!.data.reason).toMatch(/context changed/);
  });
});

describe('planning off the critical path', () => {
  it('plans distinct prose tasks ahead, concurrently, while earlier tasks run in file order', async () => {
    const titles = [
      'Create the parser in `lib/parse.js`',
      'Write the formatter in `lib/format.js`',
      'Add a CLI entry in `bin/tool.js`',
      'Document usage in `docs/usage.md`',
      'Add a changelog in `CHANGELOG.md`',
      'Create the fixtures in `fixtures/a.txt`',
    ];
    const w = await ws.make(titles.map((t, i) => `- [ ] ${i + 1}. ${t}\n  - Plain prose, no commands\n`).join(''));
    const before = llm.requests.length;
    const { result, events } = await run(w);
    expect(result.exitCode, result.stderr).toBe(0);
    const calls = llm.requests.slice(before);
    expect(calls).toHaveLength(titles.length * 2);
    // Every plan was asked for before the first task finished its commands (0.3 s each)...
    const firstDone = Date.parse(of(events, 'TaskCompleted')[0]!.at);
    const askedBeforeFirstDone = new Set(
      calls.filter((c) => c.at < firstDone).map((c) => /Task (\d+):/.exec(promptOf(c))![1]),
    );
    expect(askedBeforeFirstDone.size).toBeGreaterThanOrEqual(4);
    // ...never more than four tasks being planned at once (execution.planAhead)...
    const taskOf = (c: (typeof calls)[number]) => /Task (\d+):/.exec(promptOf(c))![1];
    const planningAtOnce = calls.map(
      (c) => new Set(calls.filter((o) => o.at <= c.at && o.at + 300 > c.at).map(taskOf)).size,
    );
    expect(Math.max(...planningAtOnce)).toBeLessThanOrEqual(4);
    // ...and the tasks still ran one after another, in file order.
    const started = of(events, 'CommandStarted').map((e) => e.taskId);
    expect(started).toEqual(titles.map((_, i) => String(i + 1)));
    const completedAt = of(events, 'TaskCompleted').map((e) => [e.taskId, Date.parse(e.at)] as const);
    for (let i = 1; i < titles.length; i++) {
      const startAt = Date.parse(of(events, 'CommandStarted').find((e) => e.taskId === String(i + 1))!.at);
      expect(startAt).toBeGreaterThanOrEqual(completedAt.find(([id]) => id === String(i))![1]);
    }
  });

  it('plans a task again when an earlier task changed a file its plan was made from, and records why', async () => {
    const w = await ws.make(
      [
        '- [ ] 1. Create the config',
        '  ```bash',
        '  sleep 1 && mkdir -p src && echo "module.exports = { retries: 3 };" > src/config.js',
        '  ```',
        '- [ ] 2. Add a timeout option beside retries in `src/config.js`',
        '',
      ].join('\n'),
    );
    const before = llm.requests.length;
    const { result, events } = await run(w);
    expect(result.exitCode, result.stderr).toBe(0);
    const plans = of(events, 'PlanCreated').filter((e) => e.taskId === '2');
    expect(plans.map((p) => [p.data.revision, p.data.inputs[0]?.checksum === null])).toEqual([
      [0, true],
      [1, false],
    ]);
    const invalidated = of(events, 'PlanInvalidated');
    expect(invalidated).toHaveLength(1);
    expect(invalidated[0]!.data).toMatchObject({ revision: 1, changed: [{ path: 'src/config.js', was: null }] });
    // The first plan was made while task 1 ran; the second one saw the file task 1 wrote.
    const calls = llm.requests.slice(before);
    expect(calls).toHaveLength(4);
    expect(promptOf(calls[0]!)).toContain('does not exist yet');
    expect(promptOf(calls[3]!)).toContain('module.exports = { retries: 3 };');
    expect(of(events, 'CommandStarted').filter((e) => e.taskId === '2')).toHaveLength(1);
  });
});
