import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

/** The benchmark harness keeps working (its numbers are read by people, never asserted). */
describe('npm run bench', () => {
  it('prints the components table and writes it to bench/results', async () => {
    const result = await execa('npx', ['tsx', 'bench/main.ts', '--quick', '--only', 'patterns,context,scheduler'], {
      cwd: REPO_ROOT,
      reject: false,
      timeout: 120_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| recovery \| pattern match p99 \| [\d.]+ ms \|/);
    expect(result.stdout).toMatch(
      /\| executor \| graph of 7 commands, concurrency 3: wall \/ critical path \| [\d.]+ \|/,
    );
    expect(await readFile(join(REPO_ROOT, 'bench/results/latest.md'), 'utf8')).toBe(`${result.stdout}\n`);
  });
});
