import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITES_RUN, eventSubjects } from '../../src/events/subjects.ts';
import { connectNats, type NatsAuth } from '../../src/nats/connection.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { jsManager } from '../../src/nats/jetstream-domain.ts';
import { findNatsServer, freePort, startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { ensureWorkStream } from '../../src/nats/work-queue.ts';
import { nodeConfFile, siteLeafFile } from '../../src/security/cluster-config.ts';
import { CREDENTIALS_FILE, readCredentials, siteCredentialsFile } from '../../src/security/credentials.ts';
import { siteUser } from '../../src/security/roles.ts';
import { CLI, ofType, printed, runCli } from '../helpers/cli.ts';
import { clone, independentTasks, startSite, stopSites, tempDirs, tree, type Site } from '../helpers/sites.ts';
import { makeTestCerts, type TestCerts } from '../helpers/tls.ts';

/**
 * docs/scaling.md, "A site behind NAT", step 2: TLS on a leaf link, with the files `cluster init
 * --domain hub --tls DIR --site d` wrote, as they are: the hub is node1.conf less its routes (a
 * cluster of one), its clients and leaf links on TLS with the certificate from DIR; the site's leaf
 * node is site-d.leaf.conf, its remote checking the hub against DIR/ca.pem. The same leaf config
 * without that check is refused. nats.js checks a server reached by IP address against the name
 * `localhost`, so clients name the hub by host name, as the docs ask.
 */
const DOMAIN = 'hub';
const SITE = 'd';
const temp = tempDirs();
let cluster: string;
let certs: TestCerts;
let hub: LocalNats | undefined;
let hubUrl: string;
let auth: NatsAuth;

beforeAll(async () => {
  cluster = await temp.make('ia-leaftls-');
  const certDir = await temp.make('ia-leaftls-certs-');
  certs = await makeTestCerts(certDir);
  // The names `--tls` gives node 1's certificate and key on its machine.
  await copyFile(certs.cert, join(certDir, 'node1.pem'));
  await copyFile(certs.key, join(certDir, 'node1-key.pem'));
  const [port, routePort, leafPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const init = await execa(
    process.execPath,
    [
      ...[CLI, 'cluster', 'init', cluster, '--nodes', `127.0.0.1:${port}:${routePort}:${leafPort}`],
      ...['--domain', DOMAIN, '--tls', certDir],
    ],
    { reject: false, env: { NO_COLOR: '1' } },
  );
  if (init.exitCode !== 0) throw new Error(`cluster init: ${init.stderr}`);
  const site = await execa(process.execPath, [CLI, 'cluster', 'init', cluster, '--site', SITE], { reject: false });
  if (site.exitCode !== 0) throw new Error(`cluster init --site: ${site.stderr}`);
  const node = await readFile(join(cluster, nodeConfFile(0)), 'utf8');
  const hubConf = join(cluster, 'hub.conf');
  await writeFile(hubConf, node.replace(/\ncluster \{[\s\S]*?\n\}\n/, '\n'));
  hub = await startLocalNats({ configFile: hubConf, storeDir: join(cluster, 'hub'), port, timeoutMs: 30_000 });
  hubUrl = hub.url.replace('127.0.0.1', 'localhost');
  auth = { kind: 'roles', credentials: await readCredentials(join(cluster, CREDENTIALS_FILE)), source: 'test' };
  // The streams and the work consumers, as the admin makes them at any start (a site's user may not).
  const admin = await connectNats(hubUrl, 'setup', auth, 'admin', { domain: DOMAIN, ca: certs.ca });
  await ensureWorkStream((await EventStore.open(admin)).jsm);
  await admin.close();
}, 60_000);
afterAll(async () => {
  await hub?.stop();
  await temp.cleanup();
});

const leafFile = () => join(cluster, siteLeafFile(siteUser(SITE)));

/** Whether a client of the leaf, as the site, reaches the hub's JetStream through the link. */
async function reachesHub(url: string): Promise<boolean> {
  const own = join(cluster, siteCredentialsFile(SITE));
  const { password } = JSON.parse(await readFile(own, 'utf8')) as { password: string };
  const nc = await connectNats(url, 'link probe', { kind: 'site', site: SITE, password, source: own }, 'executor', {
    domain: DOMAIN,
  });
  try {
    return await (await jsManager(nc, { checkAPI: false })).getAccountInfo().then(
      () => true,
      () => false,
    );
  } finally {
    await nc.close();
  }
}

/** How many of the site's beats the hub holds: each crossed the link. */
async function beats(): Promise<number> {
  const nc = await connectNats(hubUrl, 'leaf-tls test', auth, 'monitor', { domain: DOMAIN, ca: certs.ca });
  try {
    const store = await EventStore.open(nc, { bind: true });
    return (await store.read({ subject: eventSubjects.of(SITES_RUN, SITE, 'SiteHeartbeat') })).length;
  } finally {
    await nc.close();
  }
}

describe('a leaf link over TLS', () => {
  it("a site's leaf node dials the hub with the CA: tasks routed to the site run there and their change sets come home", async () => {
    expect(await readFile(leafFile(), 'utf8')).toContain(`tls { ca_file: "${certs.ca}" }`);
    const leaf = await startLocalNats({ configFile: leafFile(), storeDir: join(cluster, 'leaf'), timeoutMs: 30_000 });
    const sites: Site[] = [];
    try {
      await expect.poll(() => reachesHub(leaf.url), { timeout: 30_000 }).toBe(true);
      const home = await temp.make('ia-leaftls-home-');
      const list = independentTasks(2, (i) => `echo "task ${i}" > t${i}.txt`).replaceAll(
        '  - Depends:\n',
        `  - Depends:\n  - Site: ${SITE}\n`,
      );
      const user = await clone(home, list);
      sites.push(
        await startSite({
          name: SITE,
          url: leaf.url,
          hidden: home,
          dir: await temp.make('ia-leaftls-site-'),
          env: { NATS_CREDS: join(cluster, siteCredentialsFile(SITE)), NATS_DOMAIN: DOMAIN },
        }),
      );
      await expect.poll(beats, { timeout: 30_000 }).toBeGreaterThan(0);
      const env = {
        NATS_URL: hubUrl,
        NATS_CREDS: join(cluster, CREDENTIALS_FILE),
        NATS_DOMAIN: DOMAIN,
        NATS_CA: certs.ca,
        NO_COLOR: '1',
      };
      const { result, events } = await runCli(['run', 'tasks.md'], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(2);
      expect(new Set(ofType(events, 'CommandStarted').map((e) => e.data.site))).toEqual(new Set([SITE]));
      const got = await tree(user);
      for (const i of [1, 2]) expect(Buffer.from(got[`t${i}.txt`]!, 'base64').toString()).toBe(`task ${i}\n`);
    } finally {
      await stopSites(sites);
      await leaf.stop();
    }
    for (const s of sites) expect((await s.process).stderr).not.toMatch(/NATS refused/);
  }, 120_000);

  it('a leaf remote without the CA is refused: its server logs the unknown authority and its clients do not reach the hub', async () => {
    const file = join(cluster, 'no-ca.leaf.conf');
    await writeFile(file, (await readFile(leafFile(), 'utf8')).replace(/, tls \{ ca_file: [^}]*\}/, ''));
    expect(await readFile(file, 'utf8')).not.toContain('ca_file');
    const leaf = execa(findNatsServer(), ['-c', file, '-a', '127.0.0.1', '-p', '-1'], { reject: false });
    try {
      const listening = printed(leaf.stderr, /Listening for client connections on [^\s]+:(\d+)/);
      const refused = printed(leaf.stderr, /leafnode[^\n]*(x509|certificate)[^\n]*/i);
      const [, port] = await listening;
      expect((await refused)[0]).toMatch(/signed by unknown authority/);
      expect(await reachesHub(`nats://127.0.0.1:${port}`)).toBe(false);
    } finally {
      leaf.kill('SIGTERM');
      await leaf;
    }
  }, 60_000);
});
