import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/render-report.ts';
import { runCli } from '../helpers/cli.ts';
import { REPO_ROOT, startTestNats } from '../helpers/nats.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let server: Awaited<ReturnType<typeof startTestNats>>;
let dir: string;
beforeAll(async () => {
  server = await startTestNats();
  dir = await mkdtemp(join(tmpdir(), 'ia-report-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Pixels of the command-bar colour (#3b82f6) in a screenshot. */
function barPixels(png: PNG): number {
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (
      Math.abs(png.data[i]! - 0x3b) < 8 &&
      Math.abs(png.data[i + 1]! - 0x82) < 8 &&
      Math.abs(png.data[i + 2]! - 0xf6) < 8
    )
      count++;
  }
  return count;
}

// .ci/run installs Debian's chromium; a developer machine without it skips this one test.
describe.skipIf(!CHROMIUM)('the report in headless Chromium', () => {
  it('renders the timeline of the example run', async () => {
    await writeFile(join(dir, 'tasks.md'), await readFile(join(REPO_ROOT, 'examples/greeter/tasks.md'), 'utf8'));
    const { result, events } = await runCli(
      ['run', join(dir, 'tasks.md'), '--workdir', dir],
      { NATS_URL: server.url },
      dir,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const html = join(dir, 'report.html');
    await writeFile(html, renderReport(events));
    const shot = join(dir, 'report.png');
    const profile = await mkdtemp(join(tmpdir(), 'ia-chromium-'));
    try {
      await execa(
        CHROMIUM!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${profile}`,
          '--hide-scrollbars',
          '--window-size=1200,900',
          `--screenshot=${shot}`,
          `file://${html}`,
        ],
        { timeout: 60_000 },
      );
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
    const png = PNG.sync.read(await readFile(shot));
    expect(png.width).toBe(1200);
    // Six command bars (example tasks) of at least a few pixels each, drawn in the bar colour.
    expect(barPixels(png)).toBeGreaterThan(6 * 2 * 10);
    const blank = renderReport(events.filter((e) => e.type !== 'CommandFinished'));
    expect(blank).not.toContain('class="bar plan"');
  });

  it('reads, as rendered, the status, the task titles and a red row for a failed task', async () => {
    await writeFile(
      join(dir, 'failing.md'),
      '- [ ] 1. Make the stamp\n  ```bash\n  touch stamp\n  ```\n- [ ] 2. Read a missing file\n  - Depends:\n  ```bash\n  cat missing.txt\n  ```\n',
    );
    const { result, events } = await runCli(
      ['run', join(dir, 'failing.md'), '--workdir', dir],
      { NATS_URL: server.url },
      dir,
    );
    expect(result.exitCode).toBe(1);
    const html = join(dir, 'failing.html');
    await writeFile(html, renderReport(events));
    const profile = await mkdtemp(join(tmpdir(), 'ia-chromium-'));
    let dom: string;
    try {
      ({ stdout: dom } = await execa(
        CHROMIUM!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${profile}`,
          '--dump-dom',
          `file://${html}`,
        ],
        { timeout: 60_000 },
      ));
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
    const text = (pattern: RegExp) => pattern.exec(dom)?.[1]?.replace(/<[^>]+>/g, '');
    expect(text(/<p id="status">([\s\S]*?)<\/p>/)).toMatch(
      /^failed: 1 of 2 task\(s\) completed, 1 failed, 0 skipped, in [\d.]+ s$/,
    );
    expect(text(/<ul id="failed">([\s\S]*?)<\/ul>/)).toMatch(
      /^2\. Read a missing file \(\w+\): `cat missing.txt` exited 1: cat: missing.txt: No such file or directory/,
    );
    expect(dom).toMatch(/<text class="lane failed"[^>]*fill="#b91c1c"[^>]*>2\. Read a missing file · failed<\/text>/);
    expect(dom).toMatch(/<text class="lane"[^>]*>1\. Make the stamp · c1<\/text>/);
  });
});
