import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { StoredEvent } from '../src/events/agent-events.ts';
import { eventSubjects } from '../src/events/subjects.ts';
import { CONFIG_FILE } from '../src/file-names.ts';
import { benchRuntime, freshNats, ROOT } from './harness.ts';

export type SitesRow = {
  /** The median run of those measured (by wall time), and the range of their wall / ideal. */
  runs: number;
  spread: [number, number];
  sites: number;
  slots: number;
  tasks: number;
  wallMs: number;
  idealMs: number;
  /** Means over the tasks, from the events' timestamps. */
  routedToStartedMs: number;
  startedToCommandEndMs: number;
  commandEndToCompletedMs: number;
  /** From the CLI's start to the first task routed: start-up, the project's snapshot. */
  firstRoutedMs: number;
};

const CLI = join(ROOT, 'bin/implement-agent.js');
const TASK_SECONDS = 1;

const taskList = (n: number) =>
  Array.from(
    { length: n },
    (_, k) =>
      `- [ ] ${k + 1}. Task ${k + 1}\n  - Depends:\n  \`\`\`bash\n  sleep ${TASK_SECONDS}; echo ${k + 1} > t${k + 1}.txt\n  \`\`\``,
  ).join('\n');

/** The user's project: a git repository committed with the list, in `parent`/clone. */
async function project(parent: string, tasks: number): Promise<string> {
  const dir = join(parent, 'clone');
  await mkdir(dir);
  const git = (...args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', ...args]);
  await git('init', '-q');
  await writeFile(join(dir, '.gitignore'), '.implement-agent/\n');
  await writeFile(join(dir, 'tasks.md'), taskList(tasks));
  await git('add', '-A');
  await git('commit', '-q', '-m', 'base');
  return dir;
}

/**
 * A site standing for another machine: its own folder, HOME and executor process, in a mount
 * namespace where the user's clone (under `hidden`) does not exist, so it works in its own copy.
 */
async function site(
  name: string,
  slots: number,
  url: string,
  hidden: string,
  dir: string,
): Promise<{ process: ResultPromise }> {
  await writeFile(
    join(dir, CONFIG_FILE),
    JSON.stringify({ site: { name, heartbeatMs: 1000 }, execution: { taskConcurrency: slots } }),
  );
  const script = 'mount -t tmpfs none "$0" && exec "$@"';
  // Wrapped: a process is a promise, which `await` would wait out.
  const child = execa(
    'unshare',
    ['-Urm', 'sh', '-c', script, hidden, process.execPath, CLI, 'actor', 'executor', '--site', name],
    { reject: false, cwd: dir, env: { NATS_URL: url, NO_COLOR: '1', HOME: dir } },
  );
  return { process: child };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const time = (e: StoredEvent) => new Date(e.at).getTime();

/** Where each task's time went: routed → its command started → the command ended → completed. */
function breakdown(events: readonly StoredEvent[], startedAt: number) {
  const first = (type: string, id: string) => events.find((e) => e.type === type && e.taskId === id);
  const ids = [...new Set(events.filter((e) => e.type === 'TaskCompleted').map((e) => e.taskId!))];
  const spans = ids.map((id) => {
    const [routed, started, ended, done] = ['TaskRouted', 'CommandStarted', 'CommandFinished', 'TaskCompleted'].map(
      (t) => time(first(t, id)!),
    );
    return { routed: routed!, toStart: started! - routed!, run: ended! - started!, toDone: done! - ended! };
  });
  return {
    routedToStartedMs: mean(spans.map((s) => s.toStart)),
    startedToCommandEndMs: mean(spans.map((s) => s.run)),
    commandEndToCompletedMs: mean(spans.map((s) => s.toDone)),
    firstRoutedMs: Math.min(...spans.map((s) => s.routed)) - startedAt,
  };
}

/** One measured run: `count` sites of `slots` each up and beating, then `run` from the clone. */
async function measure(count: number, slots: number, tasks: number): Promise<SitesRow> {
  const nats = await freshNats();
  const root = await mkdtemp(join(tmpdir(), 'ia-bench-sites-'));
  const rt = await benchRuntime(nats.url);
  const executors: ResultPromise[] = [];
  try {
    const home = join(root, 'home');
    await mkdir(home);
    const clone = await project(home, tasks);
    for (let i = 1; i <= count; i++) {
      const dir = join(root, `site-${i}`);
      await mkdir(dir);
      executors.push((await site(`s${i}`, slots, nats.url, home, dir)).process);
    }
    await beating(rt, count);
    const startedAt = Date.now();
    const run = await execa(
      process.execPath,
      [CLI, 'run', 'tasks.md', '--json', '--task-concurrency', String(count * slots)],
      { cwd: clone, env: { ...process.env, NATS_URL: nats.url, NO_COLOR: '1' }, reject: false },
    );
    const wallMs = Date.now() - startedAt;
    if (run.exitCode !== 0) throw new Error(`sites bench, ${count} site(s): the run failed: ${run.stderr.slice(-800)}`);
    const events = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as StoredEvent);
    const idealMs = (tasks / (count * slots)) * TASK_SECONDS * 1000;
    return { runs: 1, spread: [0, 0], sites: count, slots, tasks, wallMs, idealMs, ...breakdown(events, startedAt) };
  } finally {
    await rt.close();
    for (const p of executors) p.kill('SIGTERM');
    await Promise.all(executors);
    await nats.cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

/** Until every site has announced itself (a SiteHeartbeat each); polled, as a test polls a condition. */
async function beating(rt: Awaited<ReturnType<typeof benchRuntime>>, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size < count) {
    if (Date.now() > deadline) throw new Error(`sites bench: ${count} site(s) did not all beat within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * N independent one-second tasks over 1, 2 and 3 sites on this machine (issue #40): wall time of
 * `run` from the user's clone, against the ideal N / (sites × slots) × 1 s. Each count is run
 * `repeats` times, the counts taken in turn (a burst of load from elsewhere falls on all of them
 * alike), and its median run is the row: on a shared machine one run says more of its neighbours.
 */
export async function sites(
  tasks: number,
  slots: number,
  counts: readonly number[],
  log: (line: string) => void,
  repeats = 3,
): Promise<SitesRow[]> {
  const measured = new Map<number, SitesRow[]>(counts.map((c) => [c, []]));
  for (let round = 1; round <= repeats; round++)
    for (const count of counts) {
      log(`sites: ${tasks} one-second tasks over ${count} site(s) of ${slots} slots (run ${round} of ${repeats})...`);
      measured.get(count)!.push(await measure(count, slots, tasks));
    }
  return counts.map((count) => {
    const rows = measured.get(count)!.sort((a, b) => a.wallMs - b.wallMs);
    const ratios = rows.map((r) => r.wallMs / r.idealMs);
    return { ...rows[Math.floor(rows.length / 2)]!, runs: rows.length, spread: [ratios[0]!, ratios.at(-1)!] };
  });
}
