import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * The attack: a task writes implement-agent.config.json into the working directory, where the next
 * run reads it, turning confinement off. Whatever weakens confinement is said on the run's first
 * lines, naming the file, and recorded in its RunStarted, where `status` shows it.
 */
const nats = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

describe('settings that weaken confinement', () => {
  it('are printed first, one line each naming the file, recorded in RunStarted and shown by status', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. Write\n  ```bash\n  echo hi > a.txt\n  ```\n');
    const file = join(dir, 'implement-agent.config.json');
    await writeFile(file, JSON.stringify({ sandbox: { mode: 'none' }, policy: { allow: ['outside-workdir'] } }));
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: nats.url }, dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(
      `unsafe: sandbox.mode "none" (set in ${file}): commands run unconfined: they may write wherever this user can, only the deny list stands`,
    );
    expect(lines[1]).toMatch(new RegExp(`^unsafe: policy.allow "outside-workdir" \\(set in ${file}\\): `));
    const [started] = ofType(events, 'RunStarted');
    expect(started!.data.weakened?.map((w) => `${w.setting} ${w.value}`)).toEqual([
      'sandbox.mode "none"',
      'policy.allow "outside-workdir"',
    ]);
    const status = await execa(process.execPath, [CLI, 'status', started!.runId], {
      cwd: dir,
      env: { NATS_URL: nats.url },
      reject: false,
    });
    expect(status.stdout).toContain(`unsafe: sandbox.mode "none" (set in ${file})`);
  });

  it('leave no trace where nothing weakens confinement', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. Write\n  ```bash\n  echo hi > a.txt\n  ```\n');
    await writeFile(
      join(dir, 'implement-agent.config.json'),
      JSON.stringify({ sandbox: { mode: 'bwrap', network: false } }),
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: nats.url }, dir);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('unsafe:');
    expect(ofType(events, 'RunStarted')[0]!.data.weakened).toBeUndefined();
  });
});
