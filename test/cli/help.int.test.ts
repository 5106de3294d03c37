import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

const cli = (...args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false });

describe('help and version', () => {
  it.each(['run', 'resume', 'up', 'actor', 'watch', 'replay', 'tune', 'report'])(
    '%s --help, -h and `help %s` print its usage and exit 0',
    async (command) => {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const r = await cli(...args);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: implement-agent ${command}`));
      }
    },
  );

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const r = await cli('--version');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`implement-agent ${version}`);
  });

  it('names a bad --plan-ahead value', async () => {
    const r = await cli('run', 'tasks.md', '--plan-ahead=many');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--plan-ahead must be a whole number \(0 or more\), not "many"/);
  });
});
