import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { renderReport } from '../report/render-report.ts';
import { withRuntime } from './nats-session.ts';
import { recordedRun } from './recorded-run.ts';
import { out } from './terminal.ts';

/** `implement-agent report <runId> [--out FILE.html]`: one run as a self-contained HTML page, in `<stateDir>/reports/` by default. */
export async function reportCommand(runId: string, outFile?: string): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(config, cwd, 'report', async (rt) => {
    const events = await recordedRun(rt, runId);
    // Into the state folder unless asked: a report is no file of the project's.
    const path = outFile ? resolve(cwd, outFile) : resolve(cwd, config.stateDir, 'reports', `${runId}.html`);
    if (!outFile) await mkdir(dirname(path), { recursive: true });
    await writeFile(path, renderReport(events)).catch((cause: NodeJS.ErrnoException) => {
      const why = cause.code === 'ENOENT' ? `the folder ${dirname(path)} does not exist` : cause.message;
      throw new InputError(`cannot write the report to ${path}: ${why}`, undefined, { cause });
    });
    out(path);
    return 0;
  });
}
