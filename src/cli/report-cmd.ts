import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { openRuntime, stderrLogger } from '../actors/runtime.ts';
import { renderReport } from '../report/render-report.ts';
import { natsFor } from './nats-session.ts';

/** `implement-agent report <runId> [--out FILE.html]`: one run as a self-contained HTML page. */
export async function reportCommand(runId: string, out?: string): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  const nats = await natsFor(config, cwd);
  const rt = await openRuntime(nats.url, config, 'implement-agent report', stderrLogger('report', true));
  try {
    const events = await rt.store.readRun(runId);
    if (events.length === 0) throw new InputError(`no events for run ${runId} in this log`);
    const path = resolve(cwd, out ?? `implement-agent-report-${runId}.html`);
    await writeFile(path, renderReport(events));
    process.stdout.write(`${path}\n`);
    return 0;
  } finally {
    await rt.nc.drain();
    await nats.stop();
  }
}
