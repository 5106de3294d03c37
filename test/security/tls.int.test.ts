import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM } from '../../src/events/subjects.ts';
import { EXIT } from '../../src/exit-codes.ts';
import { startLocalNats } from '../../src/nats/local-server.ts';
import { ofType, runCli } from '../helpers/cli.ts';
import { startTestCluster } from '../helpers/nats-cluster.ts';
import { independentTasks, tempDirs } from '../helpers/sites.ts';
import { makeTestCerts, tlsBlock, type TestCerts } from '../helpers/tls.ts';

/**
 * docs/scaling.md, "TLS between machines": the tool's clients switch to TLS when the server
 * requires it and check its certificate against NODE_EXTRA_CA_CERTS (a CA made here with openssl).
 * nats.js checks a server reached by IP address against the name `localhost`, so the nodes are
 * named by host name here, as the docs ask.
 */
const temp = tempDirs();
let certs: TestCerts;
beforeAll(async () => {
  certs = await makeTestCerts(await temp.make('ia-tls-'));
});
afterAll(() => temp.cleanup());

/** The URL of a loopback server by host name, as the certificate names it. */
const byName = (url: string) => url.replace('127.0.0.1', 'localhost');

/** A folder holding a list of `n` tasks, task i writing t<i>.txt. */
async function project(n: number): Promise<string> {
  const dir = await temp.make('ia-tls-ws-');
  await writeFile(
    join(dir, 'tasks.md'),
    independentTasks(n, (i) => `echo "task ${i}" > t${i}.txt`),
  );
  return dir;
}

describe('NATS over TLS', () => {
  it('a server that requires TLS: `run` checks its certificate against NODE_EXTRA_CA_CERTS or NATS_CA and runs the list; without the CA it refuses, naming the certificate; a CA file it cannot read is named', async () => {
    const dir = await temp.make('ia-tls-server-');
    const configFile = join(dir, 'nats.conf');
    await writeFile(configFile, `jetstream { max_memory_store: 64MB, max_file_store: 256MB }\n${tlsBlock(certs)}\n`);
    const server = await startLocalNats({ configFile, storeDir: join(dir, 'store') });
    try {
      const ws = await project(2);
      const url = byName(server.url);
      const untrusted = await runCli(['run', 'tasks.md'], { NATS_URL: url }, ws);
      expect(untrusted.result.exitCode, untrusted.result.stderr).toBe(EXIT.infrastructure);
      expect(untrusted.result.stderr).toMatch(/cannot connect to NATS at nats:\/\/localhost:\d+.*certificate/);
      const { result, events } = await runCli(
        ['run', 'tasks.md'],
        { NATS_URL: url, NODE_EXTRA_CA_CERTS: certs.ca },
        ws,
      );
      expect(result.exitCode, result.stderr).toBe(EXIT.ok);
      expect(
        ofType(events, 'TaskCompleted')
          .map((e) => e.taskId)
          .sort(),
      ).toEqual(['1', '2']);
      expect(await readFile(join(ws, 't2.txt'), 'utf8')).toBe('task 2\n');

      // The CA given to the tool alone (NATS_CA, config natsCa), not to the whole of Node.
      const own = await project(1);
      const viaCa = await runCli(['run', 'tasks.md'], { NATS_URL: url, NATS_CA: certs.ca }, own);
      expect(viaCa.result.exitCode, viaCa.result.stderr).toBe(EXIT.ok);
      expect(await readFile(join(own, 't1.txt'), 'utf8')).toBe('task 1\n');
      const missing = join(dir, 'no-such-ca.pem');
      const unread = await runCli(['run', 'tasks.md'], { NATS_URL: url, NATS_CA: missing }, await project(1));
      expect(unread.result.exitCode).toBe(EXIT.infrastructure);
      expect(unread.result.stderr).toContain(`cannot read the CA file ${missing} (given by NATS_CA or natsCa`);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('a three-node cluster whose clients and routes require TLS: a run through one node completes, its log on three replicas', async () => {
    const cluster = await startTestCluster({ tls: certs });
    try {
      const ws = await project(3);
      const url = byName(cluster.nodes[0]!.url);
      const { result, events } = await runCli(
        ['run', 'tasks.md'],
        { NATS_URL: url, NODE_EXTRA_CA_CERTS: certs.ca },
        ws,
      );
      expect(result.exitCode, result.stderr).toBe(EXIT.ok);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(3);
      // Through another node: what the run recorded crossed the routes.
      const nc = await connect({ servers: byName(cluster.nodes[2]!.url), tls: { caFile: certs.ca } });
      try {
        const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
        expect(info.config.num_replicas).toBe(3);
        expect(info.state.messages).toBeGreaterThanOrEqual(events.length);
      } finally {
        await nc.close();
      }
    } finally {
      await cluster.stop();
    }
  }, 180_000);
});
