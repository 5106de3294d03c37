import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE } from '../../src/file-names.ts';
import { ofType, runCli, waitForActors, workspaces, CLI } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { actorNames, eventSubjects } from '../../src/events/subjects.ts';
import { missingActors } from '../../src/host/hosts.ts';
import { foldSites, liveSites, type Site } from '../../src/projections/sites.ts';
import { gate } from '../helpers/outside.ts';

const server = natsPerSuite();
const ws = workspaces();
const siteDirs: string[] = [];
afterAll(async () => {
  await ws.cleanup();
  await Promise.all(siteDirs.map((d) => rm(d, { recursive: true, force: true })));
});

const cli = (args: string[], cwd?: string) =>
  execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { NATS_URL: server.url, NO_COLOR: '1' },
    ...(cwd ? { cwd } : {}),
  });

/** An executor process standing for a site: its own folder, its config naming its labels. */
async function site(name: string, labels: string[], heartbeatMs = 500): Promise<{ process: ResultPromise }> {
  const dir = await mkdtemp(join(tmpdir(), `ia-site-${name}-`));
  siteDirs.push(dir);
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify({ site: { name, labels, heartbeatMs } }));
  // Wrapped: a process is a promise, which `await` would wait out.
  return { process: cli(['actor', 'executor', '--site', name], dir) };
}

/** The actors a site's executor leaves to others: it answers no ping, as it takes no shared work. */
const withoutExecutor = actorNames.filter((n) => n !== 'executor');

type TestRuntime = Awaited<ReturnType<typeof testRuntime>>;
const beats = async (rt: TestRuntime, name: string) =>
  (await rt.store.read({ subject: eventSubjects.sites() })).filter((e) => e.taskId === name).length;

/** The sites live now, as their heartbeats in the log say. */
const liveNow = async (rt: TestRuntime) =>
  liveSites(
    (await rt.store.read({ subject: eventSubjects.sites() })).reduce(foldSites, new Map<string, Site>()),
    Date.now(),
  ).map((s) => s.site);

const task = (n: number, needs?: string) =>
  `- [ ] ${n}. Task ${n}\n  - Depends:\n${needs ? `  - Needs: ${needs}\n` : ''}  \`\`\`bash\n  echo ${n} > ran-${n}.txt\n  \`\`\``;

describe('sites', () => {
  it('completes a run started as soon as a site executor is, before its first heartbeat: the run hosts the executor the shared queue needs', async () => {
    const processes: ResultPromise[] = [(await site('early', [])).process];
    const rt = await testRuntime(server.url);
    try {
      const { dir, tasks } = await ws.make([task(1), task(2)].join('\n'));
      const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(2);
      expect((await readdir(dir)).filter((f) => f.startsWith('ran-')).sort()).toEqual(['ran-1.txt', 'ran-2.txt']);
      // Up and beating, the site still answers no executor ping: a run with no other executor hosts one.
      await expect.poll(() => beats(rt, 'early'), { timeout: 60_000 }).toBeGreaterThan(0);
      expect(await missingActors(rt)).toContain('executor');
    } finally {
      await rt.close();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
    // A site and a run's CLI hosting every actor, on two loaded cores.
  }, 180_000);

  it('keeps the tasks of a run started with no site up off a site that comes up later, as the run names no snapshot to make its project from', async () => {
    const open = await gate();
    const processes: ResultPromise[] = [];
    const rt = await testRuntime(server.url);
    try {
      // The site of the test before is gone: none may count as up when the run starts.
      await expect.poll(() => liveNow(rt), { timeout: 30_000 }).toEqual([]);
      const first = `- [ ] 1. Wait\n  - Depends:\n  \`\`\`bash\n  ${open.wait}; echo 1 > ran-1.txt\n  \`\`\``;
      const second = `- [ ] 2. After\n  - Depends: 1\n  \`\`\`bash\n  echo 2 > ran-2.txt\n  \`\`\``;
      const { dir, tasks } = await ws.make([first, second].join('\n'));
      const run = runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
      const waiting = async () =>
        (await rt.store.read({ subject: eventSubjects.type('CommandStarted') })).filter(
          (e) => e.type === 'CommandStarted' && e.data.command.includes(open.dir),
        ).length;
      await expect.poll(waiting, { timeout: 60_000 }).toBe(1);
      // A site comes up while task 1 runs: task 2, decided after, would wait forever for it to make the project.
      processes.push((await site('late', [])).process);
      await expect.poll(() => beats(rt, 'late'), { timeout: 60_000 }).toBeGreaterThan(0);
      await open.open();
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      const [begun] = ofType(events, 'RunStarted');
      expect(begun?.data.project?.snapshot).toBeUndefined();
      expect(ofType(events, 'TaskRouted')).toEqual([]);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(2);
      expect(await readFile(join(dir, 'ran-2.txt'), 'utf8')).toBe('2\n');
    } finally {
      await rt.close();
      await open.remove();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
  }, 180_000);

  it('routes a Needs: gpu task only to the gpu site, waits saying why while none is up, and names the site that ran each task', async () => {
    const others = actorNames.filter((n) => n !== 'executor').map((n) => cli(['actor', n]));
    const processes: ResultPromise[] = [...others, (await site('plain', [])).process];
    const rt = await testRuntime(server.url);
    try {
      await waitForActors(server.url, withoutExecutor);
      // Up, and the only one (the sites of the tests before have stopped beating).
      await expect.poll(() => liveNow(rt), { timeout: 60_000 }).toEqual(['plain']);
      const { dir, tasks } = await ws.make([task(1, 'gpu'), task(2), task(3)].join('\n'));
      const run = runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
      // No gpu site yet: task 1 waits and the log says why; the others run on the plain site.
      await expect
        .poll(async () => (await rt.store.read({ subject: eventSubjects.type('TaskWaiting') })).length, {
          timeout: 60_000,
        })
        .toBe(1);
      const [waiting] = await rt.store.read({ subject: eventSubjects.type('TaskWaiting') });
      expect(waiting?.type === 'TaskWaiting' && waiting.data.reason).toMatch(/no live site meets Needs: gpu/);
      processes.push((await site('gpu-box', ['gpu'])).process);
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      const siteOf = new Map(ofType(events, 'CommandStarted').map((e) => [e.taskId, e.data.site]));
      expect(siteOf.get('1')).toBe('gpu-box');
      // The others may run on either: both meet no needs.
      for (const id of ['2', '3']) expect(['plain', 'gpu-box']).toContain(siteOf.get(id));
      const routed = new Map(ofType(events, 'TaskRouted').map((e) => [e.taskId, e.data.site]));
      expect([...routed.keys()].sort()).toEqual(['1', '2', '3']);
      expect(routed.get('1')).toBe('gpu-box');
      expect(ofType(events, 'TaskCompleted')).toHaveLength(3);
      const status = await cli(['status', events[0]!.runId, '--json'], dir);
      expect(status.stdout).toMatch(/"site": ?"gpu-box"/);
    } finally {
      await rt.close();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
  });

  it('routes a task again when its site has not started it within the schedule-to-start timeout, and runs it once, at the site it was routed to last', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-coordinator-'));
    siteDirs.push(dir);
    await writeFile(join(dir, CONFIG_FILE), JSON.stringify({ siteStartTimeoutMs: 2_000 }));
    const others = actorNames.filter((n) => n !== 'executor' && n !== 'coordinator').map((n) => cli(['actor', n]));
    // A long heartbeat: the frozen site still counts as live when the task is routed to it.
    const stuck = (await site('a-frozen', [], 30_000)).process;
    const processes: ResultPromise[] = [...others, cli(['actor', 'coordinator'], dir), stuck];
    const rt = await testRuntime(server.url);
    try {
      await waitForActors(server.url, withoutExecutor);
      processes.push((await site('b-ok', [])).process);
      const announced = async () =>
        new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId ?? ''));
      await expect
        .poll(async () => [...(await announced())].filter((n) => n === 'a-frozen' || n === 'b-ok'), {
          timeout: 60_000,
        })
        .toHaveLength(2);
      stuck.kill('SIGSTOP');
      const { dir: work, tasks } = await ws.make(task(1));
      const { result, events } = await runCli(['run', tasks, '--workdir', work], { NATS_URL: server.url }, work);
      stuck.kill('SIGCONT');
      expect(result.exitCode, result.stderr).toBe(0);
      const routed = ofType(events, 'TaskRouted').map((e) => [e.data.site, e.data.attempt]);
      expect(routed).toEqual([
        ['a-frozen', 0],
        ['b-ok', 1],
      ]);
      expect(ofType(events, 'CommandStarted').map((e) => e.data.site)).toEqual(['b-ok']);
    } finally {
      await rt.close();
      stuck.kill('SIGCONT');
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
  });
});
