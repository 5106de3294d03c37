import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freshNats, ROOT } from './harness.ts';

export type ScaleRow = {
  tasks: number;
  order: 'default' | 'independent';
  wallMs: number;
  perTaskMs: number;
  peakRssMiB: number;
};

/** `echo N > fN.txt` tasks: explicit, one command each, so that what is measured is the system's own cost. */
function taskList(n: number, independent: boolean): string {
  const tasks: string[] = [];
  for (let i = 1; i <= n; i++)
    tasks.push(
      `- [ ] ${i}. Task ${i}\n${independent ? '  - Depends: none\n' : ''}  \`\`\`bash\n  echo ${i} > f${i}.txt\n  \`\`\`\n`,
    );
  return tasks.join('');
}

/** The peak resident set of a running process (Linux: VmHWM), read until it exits. */
function watchPeakRss(pid: number): () => number {
  let peak = 0;
  const read = () => {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb);
    } catch {
      // exited
    }
  };
  const timer = setInterval(read, 50);
  return () => {
    clearInterval(timer);
    return peak / 1024;
  };
}

/**
 * Cost as a list grows: the CLI runs n explicit tasks in a fresh project against a fresh NATS,
 * in default order (each after the previous) and independent (`Depends: none`) with
 * `--task-concurrency 8`; per-task cost is wall / n, peak RSS is the CLI's (it hosts every actor).
 */
export async function scale(sizes: readonly number[], log: (line: string) => void): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const order of ['default', 'independent'] as const) {
    for (const n of sizes) {
      log(`scale: ${n} tasks, ${order} order...`);
      const nats = await freshNats();
      const dir = await mkdtemp(join(tmpdir(), 'ia-scale-'));
      try {
        await writeFile(join(dir, 'tasks.md'), taskList(n, order === 'independent'));
        const started = performance.now();
        const child = execa(
          process.execPath,
          [
            join(ROOT, 'bin/implement-agent.js'),
            'run',
            'tasks.md',
            ...(order === 'independent' ? ['--task-concurrency', '8'] : []),
          ],
          {
            cwd: dir,
            env: { ...process.env, NATS_URL: nats.url, NO_COLOR: '1' },
            reject: false,
          },
        );
        const peak = watchPeakRss(child.pid!);
        const result = await child;
        const wallMs = performance.now() - started;
        const peakRssMiB = peak();
        if (result.exitCode !== 0) throw new Error(`scale run of ${n} tasks failed: ${result.stderr.slice(-500)}`);
        rows.push({ tasks: n, order, wallMs, perTaskMs: wallMs / n, peakRssMiB });
      } finally {
        await nats.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}
