import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ConfigOverrides } from '../../src/config.ts';
import { eventSubjects } from '../../src/events/subjects.ts';
import type { NatsRuntime } from '../../src/host/runtime.ts';
import { startTestCluster, type TestCluster } from './nats-cluster.ts';
import { testRuntime } from './runtime.ts';
import { clone, independentTasks, startSite, stopSites, tempDirs, type Site } from './sites.ts';

/** The list both cluster tests run: 30 independent tasks, task i writing t<i>.txt. */
export const TASKS = 30;
export const list = independentTasks(TASKS, (i) => `echo "task ${i}" > t${i}.txt`);
/** The ids of every task, sorted as strings. */
export const taskIds = (): string[] => Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort();

/** How many sites have announced themselves. */
const beating = async (rt: NatsRuntime) =>
  new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size;

/** A three-node cluster for the whole test file and temporary folders removed after it. */
export function clusterPerSuite(): { readonly cluster: TestCluster; temp: ReturnType<typeof tempDirs> } {
  let cluster: TestCluster | undefined;
  const temp = tempDirs();
  beforeAll(async () => {
    cluster = await startTestCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await temp.cleanup();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the suite cluster is not running');
      return cluster;
    },
    temp,
  };
}

/** The user's side on `url`: the config file every `run` is given (outside the clones, so their trees are the project's alone) and a runtime, made first (it makes the streams). */
export async function userSide(
  temp: ReturnType<typeof tempDirs>,
  url: string,
  overrides: ConfigOverrides = {},
): Promise<{ config: string; rt: NatsRuntime }> {
  const config = join(await temp.make('ia-config-'), 'implement-agent.config.json');
  await writeFile(config, JSON.stringify(overrides));
  return { config, rt: await testRuntime(url, overrides) };
}

export type TwoSites = {
  /** The user's clone, which the sites cannot see. */
  user: string;
  /** The sites' executors (their output once stopped). */
  sites: readonly Site[];
  stop: () => Promise<void>;
};

/**
 * The user's clone and two sites, east and west, each on its URLs, in folders of their own
 * where the clone's parent is hidden; resolves once `rt` has seen both beat.
 */
export async function twoSites(
  temp: ReturnType<typeof tempDirs>,
  rt: NatsRuntime,
  urls: { east: string; west: string },
  overrides: ConfigOverrides = {},
): Promise<TwoSites> {
  const home = await temp.make('ia-home-');
  const user = await clone(home, list);
  const sites: Site[] = [];
  const stop = () => stopSites(sites);
  try {
    for (const name of ['east', 'west'] as const)
      sites.push(
        await startSite({
          name,
          url: urls[name],
          hidden: home,
          dir: await temp.make(`ia-site-${name}-`),
          config: overrides,
        }),
      );
    await expect.poll(() => beating(rt), { timeout: 60_000 }).toBe(2);
  } catch (error) {
    await stop();
    throw error;
  }
  return { user, sites, stop };
}
