import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.ts';
import { SITES_RUN, eventSubjects } from '../../src/events/subjects.ts';
import { connectNats, type NatsAuth, type NatsConnection } from '../../src/nats/connection.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { jsManager } from '../../src/nats/jetstream-domain.ts';
import { ensureWorkStream } from '../../src/nats/work-queue.ts';
import { freePort, startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { nodeConfFile, siteLeafFile } from '../../src/security/cluster-config.ts';
import { CREDENTIALS_FILE, readCredentials, siteCredentialsFile } from '../../src/security/credentials.ts';
import { siteUser } from '../../src/security/roles.ts';
import { CLI, ofType, runCli } from '../helpers/cli.ts';
import { clone, independentTasks, startSite, stopSites, tempDirs, tree, type Site } from '../helpers/sites.ts';

const DOMAIN = 'hub';
const SITE = 'd';
const temp = tempDirs();
let cluster: string;
let hub: LocalNats | undefined;
let leaf: LocalNats | undefined;
let leafPort: number;
let auth: NatsAuth;

/**
 * The hub: the node config `cluster init --domain` wrote (its JetStream domain, its leaf listen
 * port, auth.conf's users), less its routes, so one node runs as a cluster of one. The site's
 * leaf node: the `site-d.leaf.conf` it wrote, as it is, on a free port.
 */
beforeAll(async () => {
  cluster = await temp.make('ia-leaf-cluster-');
  const [port, routePort, leafLinkPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const nodes = `127.0.0.1:${port}:${routePort}:${leafLinkPort}`;
  const init = await execa(
    process.execPath,
    [CLI, 'cluster', 'init', cluster, '--nodes', nodes, '--domain', DOMAIN, '--site', SITE],
    { reject: false, env: { NO_COLOR: '1' } },
  );
  if (init.exitCode !== 0) throw new Error(`cluster init: ${init.stderr}`);
  expect(init.stdout).toContain(`NATS_DOMAIN=${DOMAIN}`);
  const node = await readFile(join(cluster, nodeConfFile(0)), 'utf8');
  const hubConf = join(cluster, 'hub.conf');
  await writeFile(hubConf, node.replace(/\ncluster \{[\s\S]*?\n\}\n/, '\n'));
  hub = await startLocalNats({ configFile: hubConf, storeDir: join(cluster, 'hub'), port, timeoutMs: 30_000 });
  auth = { kind: 'roles', credentials: await readCredentials(join(cluster, CREDENTIALS_FILE)), source: 'test' };
  // The streams and work consumers, as the admin makes them at any start on the hub (a site's user may not).
  const admin = await connectNats(hub.url, 'setup', auth, 'admin', { domain: DOMAIN });
  await ensureWorkStream((await EventStore.open(admin)).jsm);
  await admin.close();
  leafPort = await freePort();
  leaf = await startLeaf();
}, 60_000);
afterAll(async () => {
  await leaf?.stop();
  await hub?.stop();
  await temp.cleanup();
});

const startLeaf = () =>
  startLocalNats({
    configFile: join(cluster, siteLeafFile(siteUser(SITE))),
    storeDir: join(cluster, 'leaf'),
    port: leafPort,
    timeoutMs: 30_000,
  });

/** The hub's log, read as the monitor role through the domain, as every client of this cluster does. */
async function hubLog(): Promise<{ store: EventStore; nc: NatsConnection }> {
  const nc = await connectNats(hub!.url, 'site-leaf test', auth, 'monitor', { domain: DOMAIN });
  return { store: await EventStore.open(nc, { bind: true }), nc };
}

/** Once the leaf's link is up, its client as the site reaches the hub's JetStream (no responders before). */
async function linkUp(url: string): Promise<void> {
  const own = join(cluster, siteCredentialsFile(SITE));
  const site = JSON.parse(await readFile(own, 'utf8')) as { password: string };
  const nc = await connectNats(
    url,
    'link probe',
    { kind: 'site', site: SITE, password: site.password, source: own },
    'executor',
    { domain: DOMAIN },
  );
  try {
    await expect
      .poll(
        async () =>
          (await jsManager(nc, { checkAPI: false })).getAccountInfo().then(
            () => true,
            () => false,
          ),
        {
          timeout: 30_000,
        },
      )
      .toBe(true);
  } finally {
    await nc.close();
  }
}

/** When the site made each beat the hub holds. */
const beats = async (store: EventStore) =>
  (await store.read({ subject: eventSubjects.of(SITES_RUN, SITE, 'SiteHeartbeat') })).map((e) => Date.parse(e.at));

describe('a site behind a leaf node (JetStream domain)', () => {
  it("runs the tasks routed to it through the leaf's link, their change sets come home; with the link down its beats stop and its task waits, and runs once the link is back", async () => {
    await linkUp(leaf!.url);
    const home = await temp.make('ia-leaf-home-');
    const list = independentTasks(4, (i) => `echo "task ${i}" > t${i}.txt`).replaceAll(
      '  - Depends:\n',
      `  - Depends:\n  - Site: ${SITE}\n`,
    );
    const user = await clone(home, list);
    const env = {
      NATS_URL: hub!.url,
      NATS_CREDS: join(cluster, CREDENTIALS_FILE),
      NATS_DOMAIN: DOMAIN,
      NO_COLOR: '1',
    };
    const sites: Site[] = [
      await startSite({
        name: SITE,
        url: leaf!.url,
        hidden: home,
        dir: await temp.make('ia-leaf-site-'),
        env: { NATS_CREDS: join(cluster, siteCredentialsFile(SITE)), NATS_DOMAIN: DOMAIN },
      }),
    ];
    const { store, nc } = await hubLog();
    try {
      await expect.poll(async () => (await beats(store)).length, { timeout: 60_000 }).toBeGreaterThan(0);
      const { result, events } = await runCli(['run', 'tasks.md'], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(4);
      expect(new Set(ofType(events, 'CommandStarted').map((e) => e.data.site))).toEqual(new Set([SITE]));
      const files = Object.fromEntries([1, 2, 3, 4].map((i) => [`t${i}.txt`, `task ${i}\n`]));
      const got = await tree(user);
      for (const [name, text] of Object.entries(files)) expect(Buffer.from(got[name]!, 'base64').toString()).toBe(text);
      expect(Object.keys(got).sort()).toEqual(['.gitignore', 'README.md', 'tasks.md', ...Object.keys(files)].sort());

      // The link down (the leaf server killed): the site's beats stop reaching the hub.
      process.kill(leaf!.pid, 'SIGKILL');
      const killedAt = Date.now();
      await writeFile(
        join(user, 'tasks.md'),
        `- [ ] 1. Later\n  - Site: ${SITE}\n  \`\`\`bash\n  echo later > later.txt\n  \`\`\``,
      );
      const later = runCli(['run', 'tasks.md'], env, user);
      const waiting = async () =>
        (await store.read({ subject: eventSubjects.type('TaskWaiting') })).some(
          (e) => e.type === 'TaskWaiting' && e.data.reason.includes(`Site: ${SITE}`),
        );
      await expect.poll(waiting, { timeout: 60_000 }).toBe(true);
      expect(Math.max(...(await beats(store)))).toBeLessThanOrEqual(killedAt);
      // The link back (the leaf on its port again): the site beats, takes its task, the change comes home.
      leaf = await startLeaf();
      const { result: back, events: backEvents } = await later;
      expect(back.exitCode, back.stderr).toBe(0);
      // Once per attempt, all at d. A second attempt only when the first was recorded lost: d's
      // beats silent for three intervals (the site's process stalled on a loaded machine) after
      // the task was sent to it; the beats retried from while the link was down do not count.
      const starts = ofType(backEvents, 'CommandStarted');
      const attempts = starts.map((e) => e.data.routeAttempt);
      const lost = ofType(backEvents, 'TaskAttemptLost').map((e) => e.data.attempt);
      expect(starts.map((e) => e.data.site)).toEqual(attempts.map(() => SITE));
      expect(attempts.length).toBeGreaterThan(0);
      expect(attempts).toEqual([...new Set(attempts)]);
      expect(attempts.slice(0, -1).filter((a) => !lost.includes(a!))).toEqual([]);
      expect(await readFile(join(user, 'later.txt'), 'utf8')).toBe('later\n');
    } finally {
      await nc.close();
      await stopSites(sites);
    }
    for (const s of sites) expect((await s.process).stderr).not.toMatch(/NATS refused/);
  }, 300_000);

  it("refuses a domain without NATS_URL: the project's own nats-server has none", async () => {
    const project = await temp.make('ia-leaf-local-');
    for (const args of [['runs'], ['watch']]) {
      const local = await execa(process.execPath, [CLI, ...args], {
        cwd: project,
        env: { NATS_DOMAIN: DOMAIN, NO_COLOR: '1' },
        reject: false,
      });
      expect(local.exitCode, args[0]).toBe(EXIT.badInput);
      expect(local.stderr).toMatch(/natsDomain \(NATS_DOMAIN\) is hub, .*NATS_URL is not set/);
    }
  });
});
