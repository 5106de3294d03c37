import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/agent-events.ts';
import { encodeJson } from '../../src/events/codec.ts';
import { SITES_RUN, WORK_STREAM, actorNames, consumerNames, eventSubjects } from '../../src/events/subjects.ts';
import { EXIT } from '../../src/exit-codes.ts';
import { CONFIG_FILE } from '../../src/file-names.ts';
import { authFromEnv, connectNats, type NatsAuth, type NatsConnection } from '../../src/nats/connection.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { AUTH_CONF_FILE } from '../../src/security/cluster-config.ts';
import { startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { ensureWorkStream } from '../../src/nats/work-queue.ts';
import {
  CREDENTIALS_FILE,
  SiteCredentialsSchema,
  readCredentials,
  siteAuthFile,
  siteAuthorizationBlock,
  siteCredentialsFile,
  writeServerConfig,
  type Credentials,
} from '../../src/security/credentials.ts';
import type { Role } from '../../src/security/roles.ts';
import { CLI, ofType, printed, runCli, workspaces } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

let dir: string;
let server: LocalNats | undefined;
let credentials: Credentials;
const ws = workspaces();
const cluster = () => join(dir, 'cluster');
const siteFile = (site: string) => join(cluster(), siteCredentialsFile(site));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-site-creds-'));
  for (const site of ['a', 'b']) {
    const init = await execa(process.execPath, [CLI, 'cluster', 'init', cluster(), '--site', site], { reject: false });
    if (init.exitCode !== 0) throw new Error(`cluster init --site ${site}: ${init.stderr}`);
  }
  credentials = await readCredentials(join(cluster(), CREDENTIALS_FILE));
  // One node with the users `cluster init` generated (a cluster of one: no quorum to wait for).
  const base = await readFile(join(REPO_ROOT, 'nats.conf'), 'utf8');
  await mkdir(join(dir, 'store'), { mode: 0o700 });
  server = await startLocalNats({
    configFile: await writeServerConfig(join(dir, 'store'), base, credentials),
    storeDir: join(dir, 'store'),
    timeoutMs: 30_000,
  });
  // The streams and work consumers, as the admin makes them at any start.
  const admin = await connectNats(server.url, 'setup', rolesAuth(), 'admin');
  await ensureWorkStream((await EventStore.open(admin)).jsm);
  await admin.close();
});
afterAll(async () => {
  await server?.stop();
  await ws.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const rolesAuth = (): NatsAuth => ({ kind: 'roles', credentials, source: 'test' });
const siteAuth = (site: string) => authFromEnv({ NATS_CREDS: siteFile(site) })!;
const connectAs = (auth: NatsAuth, role: Role = 'executor') => connectNats(server!.url, 'site-creds', auth, role);

/** What the server says to `attempt`: 'allowed', or its permission error. */
const outcome = (attempt: Promise<unknown>) =>
  attempt.then(
    () => 'allowed',
    (e: Error) => (/Permissions Violation/.test(e.message) ? 'refused' : e.message),
  );

const heartbeat = (site: string) =>
  encodeJson(
    makeEvent(
      'SiteHeartbeat',
      { runId: SITES_RUN, taskId: site },
      { site, labels: [], slots: 1, host: 'h', pid: 1, intervalMs: 1000 },
    ),
  );

const consumerOf = (site: string) => ({
  durable_name: consumerNames.site(site),
  filter_subject: `agent.site.${site}.>`,
  ack_policy: AckPolicy.Explicit,
});

describe('per-site credentials', () => {
  it('`cluster init --site` writes the site its own password alone, owner only, and keeps it', async () => {
    const own = SiteCredentialsSchema.parse(JSON.parse(await readFile(siteFile('a'), 'utf8')));
    expect(own.site).toBe('a');
    expect(own.password).toBe(credentials.sites?.a);
    expect(credentials.sites?.b).not.toBe(own.password);
    expect((await stat(siteFile('a'))).mode & 0o777).toBe(0o600);
    // Its own server's users (a leaf node's): site a alone, as in auth.conf.
    const users = await readFile(join(cluster(), siteAuthFile('a')), 'utf8');
    expect(users).toContain(siteAuthorizationBlock(own));
    expect(await readFile(join(cluster(), AUTH_CONF_FILE), 'utf8')).toContain(
      siteAuthorizationBlock(own).split('\n').slice(2, -3).join('\n'),
    );
    expect(users.match(/user: /g)).toHaveLength(1);
    const again = await execa(process.execPath, [CLI, 'cluster', 'init', cluster(), '--site', 'a']);
    expect(again.stdout).toContain(siteCredentialsFile('a'));
    expect((await readCredentials(join(cluster(), CREDENTIALS_FILE))).sites).toEqual(credentials.sites);
  });

  it("with site a's credentials, b's queue, b's consumer and b's heartbeat are refused by the server", async () => {
    const a = await connectAs(siteAuth('a'));
    const b = await connectAs(siteAuth('b'));
    const admin = await connectAs(rolesAuth(), 'admin');
    try {
      const jsmA = await jetstreamManager(a, { checkAPI: false });
      // Creating: b's consumer, and a's own name with a wider filter, are refused; a's own is made.
      expect(await outcome(jsmA.consumers.add(WORK_STREAM, consumerOf('b')))).toBe('refused');
      const widened = { ...consumerOf('a'), filter_subject: 'agent.site.>' };
      expect(await outcome(jsmA.consumers.add(WORK_STREAM, widened))).toBe('refused');
      expect(await outcome(jsmA.consumers.add(WORK_STREAM, consumerOf('a')))).toBe('allowed');
      // Taking: b's consumer exists (made by b itself) and holds an item; a may not pull from it.
      expect(await outcome((await jetstreamManager(b)).consumers.add(WORK_STREAM, consumerOf('b')))).toBe('allowed');
      await jetstream(admin).publish('agent.site.b.execute', encodeJson({}));
      expect(await outcome(jetstream(a).consumers.get(WORK_STREAM, consumerNames.site('b')))).toBe('refused');
      const next = `$JS.API.CONSUMER.MSG.NEXT.${WORK_STREAM}.${consumerNames.site('b')}`;
      expect(await outcome(a.request(next, JSON.stringify({ batch: 1 }), { timeout: 2000 }))).toBe('refused');
      expect(await outcome(a.request(next.replace('work-site-b', 'work-executor'), '{}', { timeout: 2000 }))).toBe(
        'refused',
      );
      const taken = await (await jetstream(b).consumers.get(WORK_STREAM, consumerNames.site('b'))).next();
      expect(taken?.subject).toBe('agent.site.b.execute');
      taken?.ack();
      // Beating: as itself, yes; as b, no; the plain executor role, not at all.
      const beat = (nc: NatsConnection, site: string) =>
        outcome(jetstream(nc).publish(eventSubjects.of(SITES_RUN, site, 'SiteHeartbeat'), heartbeat(site)));
      expect(await beat(a, 'a')).toBe('allowed');
      expect(await beat(a, 'b')).toBe('refused');
      const executor = await connectAs(rolesAuth(), 'executor');
      expect(await beat(executor, 'a')).toBe('refused');
      await executor.close();
    } finally {
      await Promise.all([a.close(), b.close(), admin.close()]);
    }
  });

  it('an executor for a site the credentials hold no password for, or for another site than its file, is stopped, saying why', async () => {
    const env = { NATS_URL: server!.url, NO_COLOR: '1' };
    const executor = (site: string, creds: string) =>
      execa(process.execPath, [CLI, 'actor', 'executor', '--site', site], {
        env: { ...env, NATS_CREDS: creds },
        cwd: dir,
        reject: false,
      });
    const unknown = await executor('c', join(cluster(), CREDENTIALS_FILE));
    expect(unknown.exitCode).toBe(EXIT.infrastructure);
    expect(unknown.stderr).toMatch(
      /holds no password for site c \(user site-c\): on a cluster, run `implement-agent cluster init DIR --site c`/,
    );
    const other = await executor('b', siteFile('a'));
    expect(other.exitCode).toBe(EXIT.badInput);
    expect(other.stderr).toMatch(/--site b: the credentials in .*site-a\.json are site a's/);
  });

  it("a site's executor, given its own file alone, connects as its user and runs a task routed to it", async () => {
    const env = { NATS_URL: server!.url, NATS_CREDS: join(cluster(), CREDENTIALS_FILE), NO_COLOR: '1' };
    const siteDir = await mkdtemp(join(dir, 'site-a-'));
    await writeFile(join(siteDir, CONFIG_FILE), JSON.stringify({ site: { name: 'a', labels: [], heartbeatMs: 500 } }));
    const started: ResultPromise[] = [
      ...actorNames.filter((n) => n !== 'executor').map((n) => execa(process.execPath, [CLI, 'actor', n], { env })),
      execa(process.execPath, [CLI, 'actor', 'executor', '--site', 'a'], {
        env: { ...env, NATS_CREDS: siteFile('a') },
        cwd: siteDir,
      }),
    ];
    try {
      await waitForSite(server!.url, 'a');
      const { dir: project, tasks } = await ws.make(
        '- [ ] 1. Task 1\n  - Site: a\n  ```bash\n  echo one > one.txt\n  ```',
      );
      const { result, events } = await runCli(['run', tasks, '--workdir', project], env, project);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'CommandStarted').map((e) => e.data.site)).toEqual(['a']);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(1);
      expect(await readFile(join(project, 'one.txt'), 'utf8')).toBe('one\n');
    } finally {
      for (const p of started) p.kill('SIGTERM');
      const ended = await Promise.all(started.map((p) => p.catch((e: unknown) => e)));
      // No process was refused anything by the server on the way.
      for (const p of ended) expect(String((p as { stderr?: string }).stderr)).not.toMatch(/NATS refused/);
    }
    // Five actor processes and a run's CLI on two loaded cores.
  }, 180_000);

  it('`up --site NAME` on a store it starts itself gives the site a password, and its executor beats as the site', async () => {
    // Not under `dir`, whose own store (made by the tests above) a command there would find first.
    const project = await mkdtemp(join(tmpdir(), 'ia-up-site-'));
    const up = execa(process.execPath, [CLI, 'up', '--site', 'solo'], { cwd: project, env: { NO_COLOR: '1' } });
    try {
      const [, url] = await printed(up.stdout, /NATS_URL=(nats:\/\/\S+)/);
      const own = await readCredentials(join(project, '.implement-agent', 'nats', CREDENTIALS_FILE));
      expect(own.sites?.solo).toMatch(/^[\w-]{16,}$/);
      // Only the site's own user may record its heartbeat (the executor role may not): it connected as it.
      await waitForSite(url!, 'solo', { kind: 'roles', credentials: own, source: 'store' });
    } finally {
      up.kill('SIGTERM');
      const ended = await up.catch((e: unknown) => e as { stderr: string });
      await rm(project, { recursive: true, force: true });
      expect(ended.stderr).not.toMatch(/NATS refused/);
    }
  }, 120_000);
});

/** Resolves once site `site`'s heartbeat is in the log (read as the monitor role). */
async function waitForSite(url: string, site: string, auth = rolesAuth(), timeoutMs = 60_000): Promise<void> {
  const nc = await connectNats(url, 'wait-for-site', auth, 'monitor');
  const store = await EventStore.open(nc, { bind: true });
  const deadline = Date.now() + timeoutMs;
  try {
    while ((await store.read({ subject: eventSubjects.of(SITES_RUN, site, 'SiteHeartbeat') })).length === 0) {
      if (Date.now() > deadline) throw new Error(`site ${site} not up after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await nc.close();
  }
}
