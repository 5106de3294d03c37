import { recovererPorts } from '../../../src/host/actor-ports.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../../src/events/agent-events.ts';
import { demoPlanner } from '../../helpers/demo-planner.ts';
import { startFakeLlm, type FakeLlm } from '../../helpers/fake-llm.ts';
import { RECOVERY_STATS } from '../../../src/projections/recovery-stats.ts';
import { createAdvisor } from '../../../src/actors/recoverer/advisor.ts';
import { ofType, runCli, workspaces } from '../../helpers/cli.ts';
import { startTestNats } from '../../helpers/nats.ts';
import { portInUseFailure, portInUseOutcome } from '../../helpers/port-in-use.ts';
import { testRuntime } from '../../helpers/runtime.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let llm: FakeLlm;
const ws = workspaces();
const planner = demoPlanner();

beforeAll(async () => {
  server = await startTestNats();
  llm = await startFakeLlm({
    responder: (req) =>
      req.schemaName === 'recovery'
        ? JSON.stringify({
            diagnosis: 'the flag file is missing',
            action: 'fix',
            commands: ['touch needed.flag'],
            retry: true,
          })
        : planner(req),
  });
});
afterAll(async () => {
  await llm?.close();
  await server?.stop();
  await ws.cleanup();
});

const of = ofType;
const env = () => ({ NATS_URL: server.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'test-key' });

describe('recovery through the actors', () => {
  it('fixes known failures from the pattern database, with no LLM call', async () => {
    const { dir, tasks } = await ws.make(
      [
        '- [ ] 1. Nested folder without -p',
        '  ```bash\n  mkdir out/nested/deep\n  ```',
        '- [ ] 2. Script without its execute bit',
        '  ```bash',
        "  printf '#!/bin/bash\\necho ok > built.txt\\n' > build.sh",
        '  ./build.sh',
        '  ```',
        '  - Success: file built.txt exists',
        '- [ ] 3. Script with Windows line endings',
        '  ```bash',
        "  printf '#!/bin/bash\\r\\necho ok > crlf.txt\\r\\n' > run.sh && chmod +x run.sh",
        '  ./run.sh',
        '  ```',
        '  - Success: file crlf.txt exists',
        '- [ ] 4. Tests in a package with no test script',
        '  ```bash',
        `  echo '{"name":"x","version":"1.0.0"}' > package.json`,
        '  npm test',
        '  ```',
        '- [ ] 5. Make a folder that is already there',
        '  ```bash\n  mkdir out\n  ```',
      ].join('\n'),
    );
    const before = llm.requests.length;
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], env(), dir);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(llm.requests.length).toBe(before);
    expect(of(events, 'LlmCalled')).toHaveLength(0);
    expect(of(events, 'RecoveryResolved').map((e) => [e.taskId, e.data.strategyId])).toEqual([
      ['1', 'mkdir-missing-parent/mkdir-p'],
      ['2', 'script-not-executable/chmod-x'],
      ['3', 'missing-interpreter/strip-cr'],
      ['4', 'npm-missing-test-script/node-test-runner'],
      ['5', 'mkdir-exists/benign'],
    ]);
    // One attempt per task (the benign one too), all from the patterns: an empty list would not pass.
    expect(of(events, 'RecoveryAttempted').map((e) => e.data.source)).toEqual([
      'pattern',
      'pattern',
      'pattern',
      'pattern',
      'pattern',
    ]);
    expect(of(events, 'TaskCompleted').map((e) => e.data.recoveries)).toEqual([1, 1, 1, 1, 0]);
    expect(await readFile(join(dir, 'crlf.txt'), 'utf8')).toBe('ok\n');
  });

  it('takes an unknown failure to the LLM stand-in, and records the fix as learned from the LLM', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Needs a flag\n  ```bash\n  test -f needed.flag || { echo "E42: the flag is not set" >&2; exit 42; }\n  ```\n',
    );
    const before = llm.requests.length;
    const { result, events } = await runCli(['run', tasks, '--workdir', dir, '--llm', 'openai'], env(), dir);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(llm.requests.slice(before).map((r) => r.schemaName)).toEqual(['recovery']);
    expect(llm.requests.at(-1)!.messages.at(-1)!.content).toContain('E42: the flag is not set');
    expect(of(events, 'RecoveryAttempted')[0]!.data).toMatchObject({
      source: 'llm',
      commands: ['touch needed.flag'],
      retry: true,
    });
    expect(of(events, 'RecoveryResolved')[0]!.data.source).toBe('llm');
  });

  it('fixes a failure the LLM fixed before the same way, in a later run, with no LLM call', async () => {
    const list =
      '- [ ] 1. Needs another flag\n  ```bash\n  test -f needed.flag || { echo "E43: the other flag is not set" >&2; exit 43; }\n  ```\n';
    const first = await ws.make(list);
    expect(
      (await runCli(['run', first.tasks, '--workdir', first.dir, '--llm', 'openai'], env(), first.dir)).result.exitCode,
    ).toBe(0);
    const second = await ws.make(list);
    const before = llm.requests.length;
    const { result, events } = await runCli(
      ['run', second.tasks, '--workdir', second.dir, '--llm', 'openai'],
      env(),
      second.dir,
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(llm.requests.slice(before)).toEqual([]);
    expect(of(events, 'RecoveryAttempted')[0]!.data).toMatchObject({
      source: 'learned',
      commands: ['touch needed.flag'],
      strategyId: expect.stringMatching(/^llm\//),
    });
    expect(of(events, 'RecoveryResolved')[0]!.data.source).toBe('learned');
  });

  it('stops a loop: the same fix met by the same failure ends recovery with the reason', async () => {
    llm.setResponder((req) =>
      req.schemaName === 'recovery'
        ? JSON.stringify({ diagnosis: 'try again', action: 'fix', commands: ['true'], retry: true })
        : planner(req),
    );
    try {
      const { dir, tasks } = await ws.make(
        '- [ ] 1. Always fails\n  ```bash\n  echo "E77: stubborn" >&2; exit 77\n  ```\n',
      );
      const { result, events } = await runCli(['run', tasks, '--workdir', dir, '--llm', 'openai'], env(), dir);
      expect(result.exitCode).toBe(1);
      expect(of(events, 'TaskFailed')[0]!.data.reason).toMatch(
        /loop detected: `echo "E77: stubborn" >&2; exit 77` failed the same way after the same fix/,
      );
      expect(of(events, 'RecoveryAttempted')).toHaveLength(1);
    } finally {
      llm.setResponder(planner);
    }
  });
});

describe("an LLM fix must keep the task's intent", () => {
  it('refuses a fix that only masks the failure (`|| true` around the failed command), with the reason', async () => {
    const failing = 'echo "E78: broken" >&2; exit 78';
    llm.setResponder((req) =>
      req.schemaName === 'recovery'
        ? JSON.stringify({ diagnosis: 'ignore it', action: 'fix', commands: [`${failing} || true`], retry: false })
        : planner(req),
    );
    try {
      const { dir, tasks } = await ws.make(`- [ ] 1. Always fails\n  \`\`\`bash\n  ${failing}\n  \`\`\`\n`);
      const { result, events } = await runCli(['run', tasks, '--workdir', dir, '--llm', 'openai'], env(), dir);
      expect(result.exitCode).toBe(1);
      expect(of(events, 'TaskFailed')[0]!.data.reason).toMatch(/the LLM's fix was refused: .* ignores the failure of/);
      expect(of(events, 'CommandStarted').filter((e) => e.data.purpose === 'recovery')).toEqual([]);
    } finally {
      llm.setResponder(planner);
    }
  });
});

describe('learned strategy order', () => {
  it('tries the strategy that worked here first, and keeps that order after a restart', async () => {
    const rt = await testRuntime(server.url);
    try {
      const ref = portInUseOutcome;
      await rt.store.appendAll([
        ...[1, 2, 3, 4].map((i) =>
          makeEvent(
            'RecoveryFailed',
            { runId: 'history', taskId: '1' },
            { ...ref('port-in-use/free-port', i), reason: 'still in use' },
          ),
        ),
        ...[5, 6, 7].map((i) =>
          makeEvent('RecoveryResolved', { runId: 'history', taskId: '1' }, ref('port-in-use/wait-retry', i)),
        ),
      ]);
      const request = portInUseFailure('/tmp');
      const first = await createAdvisor(rt, recovererPorts);
      expect(await first.advise(request)).toMatchObject({ strategyId: 'port-in-use/wait-retry', source: 'learned' });
      await first.stop();
      const snapshot = await rt.snapshots.load(RECOVERY_STATS.name);
      expect(snapshot?.lastSeq).toBeGreaterThan(0);
      const restarted = await createAdvisor(rt, recovererPorts);
      expect(restarted.stats().strategies['port-in-use/free-port']).toEqual({ attempts: 4, successes: 0 });
      expect(await restarted.advise(request)).toMatchObject({ strategyId: 'port-in-use/wait-retry' });
      await restarted.stop();
    } finally {
      await rt.nc.close();
    }
  });
});

describe('no fix destroys what it cannot restore (real executor, recoverer and nats-server)', () => {
  it("escalates a forced link over a user's file and a forced gzip over an older archive; a file the run wrote may still be replaced", async () => {
    const w = await ws.make(
      [
        '- [ ] 1. Link the config\n  - Depends: none\n  ```bash\n  ln -s defaults.ini settings.ini\n  ```',
        '- [ ] 2. Compress the log\n  - Depends: none\n  ```bash\n  gzip app.log\n  ```',
        '- [ ] 3. Write a scratch file\n  - Depends: none\n  ```bash\n  echo scratch > scratch.ini\n  ```',
        '- [ ] 4. Link over the scratch file\n  - Depends: 3\n  ```bash\n  ln -s defaults.ini scratch.ini\n  ```',
      ].join('\n'),
    );
    const { writeFile: write, utimes } = await import('node:fs/promises');
    const before = new Date(Date.now() - 60_000);
    for (const [name, content] of [
      ['defaults.ini', 'a=1\n'],
      ['settings.ini', 'a=2 # my edits\n'],
      ['app.log', 'today\n'],
      ['app.log.gz', 'older archive\n'],
    ] as const) {
      await write(join(w.dir, name), content);
      await utimes(join(w.dir, name), before, before);
    }
    const { events } = await runCli(
      ['run', w.tasks, '--workdir', w.dir, '--llm', 'offline', '--continue', 'always'],
      { NATS_URL: server.url },
      w.dir,
    );
    const failed = ofType(events, 'TaskFailed');
    expect(failed.map((e) => e.taskId).sort()).toEqual(['1', '2']);
    expect(failed.find((e) => e.taskId === '1')!.data.reason).toMatch(
      /ln-target-exists: the fix `ln -sfn defaults.ini settings.ini` would overwrite or delete settings.ini, which existed before this run/,
    );
    expect(failed.find((e) => e.taskId === '2')!.data.reason).toMatch(
      /would overwrite or delete app.log.gz, which existed before this run/,
    );
    expect(await readFile(join(w.dir, 'settings.ini'), 'utf8')).toBe('a=2 # my edits\n');
    expect(await readFile(join(w.dir, 'app.log.gz'), 'utf8')).toBe('older archive\n');
    expect(
      ofType(events, 'TaskCompleted')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual(['3', '4']);
    expect(ofType(events, 'RecoveryResolved').map((e) => e.data.strategyId)).toEqual(['ln-target-exists/ln-force']);
  });

  it("with recovery.replacePredating, stores the user's file before a forced link replaces it, and revert puts it back", async () => {
    const w = await ws.make('- [ ] 1. Link the config\n  ```bash\n  ln -s defaults.ini settings.ini\n  ```');
    const { writeFile: write, utimes } = await import('node:fs/promises');
    const { execa } = await import('execa');
    const { CLI } = await import('../../helpers/cli.ts');
    const before = new Date(Date.now() - 60_000);
    for (const [name, content] of [
      ['defaults.ini', 'a=1\n'],
      ['settings.ini', 'a=2 # my edits\n'],
    ] as const) {
      await write(join(w.dir, name), content);
      await utimes(join(w.dir, name), before, before);
    }
    await write(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ recovery: { replacePredating: true } }));
    const { events } = await runCli(
      ['run', w.tasks, '--workdir', w.dir, '--llm', 'offline'],
      { NATS_URL: server.url },
      w.dir,
    );
    expect(ofType(events, 'TaskCompleted').map((e) => e.taskId)).toEqual(['1']);
    const changed = ofType(events, 'TaskFilesChanged')[0]!.data.files;
    expect(changed).toEqual([expect.objectContaining({ path: 'settings.ini', kind: 'link', stored: true })]);
    const reverted = await execa(process.execPath, [CLI, 'revert', events[0]!.runId, '1'], {
      cwd: w.dir,
      env: { NATS_URL: server.url },
      reject: false,
    });
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    const { lstat } = await import('node:fs/promises');
    expect((await lstat(join(w.dir, 'settings.ini'))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(w.dir, 'settings.ini'), 'utf8')).toBe('a=2 # my edits\n');
  });
});
