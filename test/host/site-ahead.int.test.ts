import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorActor } from '../../src/actors/executor/actor.ts';
import { loadConfig } from '../../src/config.ts';
import { viewsDir } from '../../src/exec/sandbox.ts';
import { executorPorts } from '../../src/host/executor-ports.ts';
import { runActor } from '../../src/host/run-actor.ts';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { snapshotProject } from '../../src/workspace/project-snapshot.ts';
import { endSpareHolders } from '../../src/workspace/view-holders.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { runStartedEvent } from '../helpers/run-events.ts';

/**
 * A site readies a run's copy as the run starts (its RunStarted), before any task is routed to
 * it: the project unpacked and its tasks' views mounted ahead, so that the first round of tasks
 * waits for neither (src/host/executor-resources.ts, src/workspace/site-copies.ts).
 */
const server = natsPerSuite();
let root: string;
let rt: NatsRuntime;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ia-site-ahead-'));
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', env: {} });
  config.site = { name: 'ahead', labels: [], heartbeatMs: 60_000 };
  config.stateDir = join(root, 'state');
  rt = await openRuntime(server.url, config, 'site-ahead-test', { info: () => {}, warn: () => {}, error: () => {} });
});
afterAll(async () => {
  await rt?.close();
  await rm(root, { recursive: true, force: true });
});

describe('a site, as a run starts', () => {
  it('unpacks the run’s project and mounts its views ahead, before any of its tasks is routed there', async () => {
    const submitter = join(root, 'clone');
    await mkdir(submitter);
    await writeFile(join(submitter, 'a.txt'), 'a\n');
    const snapshot = await snapshotProject(submitter, rt.contents);
    const executor = await runActor(rt, executorActor(executorPorts));
    try {
      const views = viewsDir(rt.config.stateDir);
      const spares = async () => (await readdir(views).catch(() => [])).filter((n) => n.startsWith('.spare-'));
      // The control: a run with no snapshot (no site was up when it started) is not a site's to unpack.
      await rt.store.append(runStartedEvent('no-snapshot', submitter));
      await rt.store.append(runStartedEvent('ahead', submitter, { snapshot }));
      const copy = join(rt.config.stateDir, 'projects', 'ahead');
      await expect
        .poll(() => readFile(join(copy, 'a.txt'), 'utf8').catch(() => undefined), { timeout: 30_000 })
        .toBe('a\n');
      await expect.poll(async () => (await spares()).length, { timeout: 30_000 }).toBe(3);
      expect(await readdir(join(rt.config.stateDir, 'projects'))).toEqual(['ahead']);
    } finally {
      await executor.stop();
      await endSpareHolders();
    }
  });
});
