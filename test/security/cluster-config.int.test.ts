import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect as tcp } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/nats/connection.ts';
import { findNatsServer, freePort, startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import {
  AUTH_CONF_FILE,
  ROUTE_USER,
  domainOf,
  nodeConfFile,
  routePasswordOf,
  siteLeafFile,
  tlsDirOf,
} from '../../src/security/cluster-config.ts';
import { CREDENTIALS_FILE, authorizationBlock, readCredentials } from '../../src/security/credentials.ts';
import { CLI } from '../helpers/cli.ts';
import { makeTestCerts } from '../helpers/tls.ts';

let dir: string;
let node: LocalNats | undefined;
const init = (...args: string[]) =>
  execa(process.execPath, [CLI, 'cluster', 'init', join(dir, 'cluster'), ...args], {
    env: { NO_COLOR: '1' },
    reject: false,
  });
const file = (name: string) => join(dir, 'cluster', name);

/** What a client with no credentials hears after CONNECT and PING on `port`. */
function rawConnect(port: number, connect: object = { verbose: false }): Promise<string> {
  return new Promise((resolve, reject) => {
    let heard = '';
    const socket = tcp(port, '127.0.0.1', () => socket.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`));
    socket.on('data', (d) => {
      heard += d.toString();
      if (/PONG|-ERR/.test(heard)) socket.end();
    });
    socket.on('close', () => resolve(heard));
    socket.on('error', reject);
  });
}

// Free ports, so this runs beside the opt-in cluster test (fixed ports) and other suites.
const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
const nodes = [0, 1, 2].map((i) => `127.0.0.1:${ports[2 * i]}:${ports[2 * i + 1]}`).join(',');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-cluster-conf-'));
});
afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('`cluster init`: a cluster with authentication on', () => {
  it('writes credentials, auth.conf from the roles table and node configs, owner only, each valid', async () => {
    const made = await init('--nodes', nodes);
    expect(made.exitCode, made.stderr).toBe(0);
    expect((await stat(join(dir, 'cluster'))).mode & 0o777).toBe(0o700);
    const names = [CREDENTIALS_FILE, AUTH_CONF_FILE, ...[0, 1, 2].map(nodeConfFile)];
    for (const name of names) expect((await stat(file(name))).mode & 0o777, name).toBe(0o600);
    const credentials = await readCredentials(file(CREDENTIALS_FILE));
    expect(await readFile(file(AUTH_CONF_FILE), 'utf8')).toContain(authorizationBlock(credentials));
    for (const i of [0, 1, 2]) {
      const checked = await execa(findNatsServer(), ['-c', file(nodeConfFile(i)), '-t'], { reject: false });
      expect(checked.exitCode, checked.stderr + checked.stdout).toBe(0);
      expect(await readFile(file(nodeConfFile(i)), 'utf8')).not.toMatch(/^\s*http/m);
    }
  });

  it('keeps the credentials and the routes on a second init, and writes auth.conf anew', async () => {
    const before = await Promise.all([CREDENTIALS_FILE, nodeConfFile(0)].map((f) => readFile(file(f), 'utf8')));
    const again = await init();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/node\*\.conf {2}kept/);
    const after = await Promise.all([CREDENTIALS_FILE, nodeConfFile(0)].map((f) => readFile(file(f), 'utf8')));
    expect(after).toEqual(before);
    const moved = await init('--nodes', nodes);
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(routePasswordOf(await readFile(file(nodeConfFile(0)), 'utf8'))).toBe(routePasswordOf(before[1]!));
  });

  it('names a bad --nodes value', async () => {
    const bad = await init('--nodes', '127.0.0.1:4222');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/"127\.0\.0\.1:4222" is not HOST:CLIENT_PORT:ROUTE_PORT/);
  });

  it('--domain: the nodes name it and take leaf links, the rights address it, a site gets its leaf config; later inits keep it', async () => {
    const domainDir = join(dir, 'domain');
    const inDomain = (...args: string[]) =>
      execa(process.execPath, [CLI, 'cluster', 'init', domainDir, ...args], { env: { NO_COLOR: '1' }, reject: false });
    const leafPorts = await Promise.all([0, 1, 2].map(() => freePort()));
    const withLeaves = nodes
      .split(',')
      .map((n, i) => `${n}:${leafPorts[i]}`)
      .join(',');
    const made = await inDomain('--domain', 'hub', '--nodes', withLeaves);
    expect(made.exitCode, made.stderr).toBe(0);
    const site = await inDomain('--site', 'd');
    expect(site.exitCode, site.stderr).toBe(0);
    expect(site.stdout).toContain('NATS_DOMAIN=hub');
    const at = (name: string) => join(domainDir, name);
    const node = await readFile(at(nodeConfFile(0)), 'utf8');
    expect(domainOf(node)).toBe('hub');
    expect(node).toContain(`leafnodes {\n  listen: 127.0.0.1:${leafPorts[0]}\n}`);
    const credentials = await readCredentials(at(CREDENTIALS_FILE));
    expect(await readFile(at(AUTH_CONF_FILE), 'utf8')).toContain(authorizationBlock(credentials, 'hub'));
    const leaf = await readFile(at(siteLeafFile('site-d')), 'utf8');
    expect(leaf).toContain(`nats-leaf://site-d:${credentials.sites!.d}@127.0.0.1:${leafPorts[2]}`);
    expect((await stat(at(siteLeafFile('site-d')))).mode & 0o777).toBe(0o600);
    for (const conf of [...[0, 1, 2].map(nodeConfFile), siteLeafFile('site-d')]) {
      const checked = await execa(findNatsServer(), ['-c', at(conf), '-t'], { reject: false, cwd: domainDir });
      expect(checked.exitCode, conf + checked.stderr + checked.stdout).toBe(0);
    }
    const other = await inDomain('--domain', 'other');
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/--domain other: the node configs in .* name hub; give --nodes too/);
  });

  it('--tls DIR: the nodes take clients, routes and leaf links over TLS with the certificates kept there, a leaf remote checks them against its CA; later inits keep it', async () => {
    const tlsDir = join(dir, 'tls-cluster');
    const withTls = (...args: string[]) =>
      execa(process.execPath, [CLI, 'cluster', 'init', tlsDir, ...args], { env: { NO_COLOR: '1' }, reject: false });
    // Where every machine keeps its certificates: the CA, and node N's as the names --tls gives them.
    const certs = await makeTestCerts(await mkdtemp(join(dir, 'certs-')));
    const certDir = dirname(certs.ca);
    for (const n of [1, 2, 3]) {
      await copyFile(certs.cert, join(certDir, `node${n}.pem`));
      await copyFile(certs.key, join(certDir, `node${n}-key.pem`));
    }
    const leafPorts = await Promise.all([0, 1, 2].map(() => freePort()));
    const withLeaves = nodes
      .split(',')
      .map((n, i) => `${n}:${leafPorts[i]}`)
      .join(',');
    const made = await withTls('--domain', 'hub', '--nodes', withLeaves, '--tls', `${certDir}/`);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.stdout).toContain(`NATS_CA=${certDir}/ca.pem`);
    const node2 = await readFile(join(tlsDir, nodeConfFile(1)), 'utf8');
    const presents = `cert_file: "${certDir}/node2.pem"\n`;
    expect(node2.split(presents)).toHaveLength(4); // clients, routes, leaf links
    expect(node2).toContain(
      `  tls {\n    ${presents}    key_file: "${certDir}/node2-key.pem"\n    ca_file: "${certDir}/ca.pem"\n  }\n  authorization`,
    );
    expect(tlsDirOf(node2)).toBe(certDir);
    expect((await withTls('--site', 'd')).exitCode).toBe(0);
    expect(await readFile(join(tlsDir, siteLeafFile('site-d')), 'utf8')).toContain(
      `], tls { ca_file: "${certDir}/ca.pem" } }`,
    );
    for (const conf of [...[0, 1, 2].map(nodeConfFile), siteLeafFile('site-d')]) {
      const checked = await execa(findNatsServer(), ['-c', join(tlsDir, conf), '-t'], { reject: false, cwd: tlsDir });
      expect(checked.exitCode, conf + checked.stderr + checked.stdout).toBe(0);
    }
    const other = await withTls('--tls', '/srv/tls');
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain(`--tls /srv/tls: the node configs in ${tlsDir} name ${certDir}; give --nodes too`);
    const relative = await withTls('--tls', 'tls');
    expect(relative.stderr).toContain('--tls "tls": the certificates\' folder is an absolute path');
  });

  it('a node refuses a client and a route without credentials, and admits a role with its password', async () => {
    node = await startLocalNats({
      configFile: file(nodeConfFile(0)),
      storeDir: join(dir, 'node1'),
      port: ports[0]!,
      timeoutMs: 30_000,
    });
    const client = await rawConnect(ports[0]!);
    expect(client).toMatch(/-ERR 'Authorization Violation'/);
    expect(client).not.toMatch(/PONG/);
    const routeAs = (pass: string) => rawConnect(ports[1]!, { verbose: false, user: ROUTE_USER, pass });
    expect(await routeAs('not-the-password')).toMatch(/-ERR 'Authorization Violation'/);
    // With the password the route is past authentication (a raw client then fails on what follows).
    const password = routePasswordOf(await readFile(file(nodeConfFile(0)), 'utf8'))!;
    expect(await routeAs(password)).not.toMatch(/Authorization Violation/);
    const credentials = await readCredentials(file(CREDENTIALS_FILE));
    const nc = await connectNats(node.url, 'cluster-conf', { kind: 'roles', credentials, source: 'test' }, 'executor');
    await nc.flush();
    expect(nc.info?.auth_required).toBe(true);
    await nc.close();
  });
});
