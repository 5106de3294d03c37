import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../src/report/render-report.ts';
import { runCli } from './helpers/cli.ts';
import { REPO_ROOT, startTestNats } from './helpers/nats.ts';

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
    if (Math.abs(png.data[i]! - 0x3b) < 8 && Math.abs(png.data[i + 1]! - 0x82) < 8 && Math.abs(png.data[i + 2]! - 0xf6) < 8) count++;
  }
  return count;
}

// .ci/run installs Debian's chromium; a developer machine without it skips this one test.
describe.skipIf(!CHROMIUM)('the report in headless Chromium', () => {
  it('renders the timeline of the example run', async () => {
    await writeFile(join(dir, 'tasks.md'), await readFile(join(REPO_ROOT, 'examples/greeter/tasks.md'), 'utf8'));
    const { result, events } = await runCli(['run', join(dir, 'tasks.md'), '--workdir', dir], { NATS_URL: server.url }, dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const html = join(dir, 'report.html');
    await writeFile(html, renderReport(events));
    const shot = join(dir, 'report.png');
    const profile = await mkdtemp(join(tmpdir(), 'ia-chromium-'));
    try {
      await execa(CHROMIUM!, [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--hide-scrollbars',
        '--window-size=1200,900', `--screenshot=${shot}`, `file://${html}`,
      ], { timeout: 60_000 });
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
});
