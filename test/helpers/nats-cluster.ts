import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { tlsBlock, type TestCerts } from './tls.ts';

export type TestCluster = {
  /** Each node, in order: its own client URL, PID and store. */
  nodes: LocalNats[];
  /** Every node's client URL, comma-separated: what a client given all of them is told. */
  urls: string;
  stop(): Promise<void>;
};

const SIZE = 3;

/**
 * A node's config: its own name and store, routes to every node (its own route is ignored). With
 * `tls`, clients must use TLS and the routes too, each node checking the other's certificate.
 */
const nodeConf = (i: number, routePorts: readonly number[], tls?: TestCerts) => `server_name: ia-test-node${i + 1}
jetstream { max_memory_store: 256MB, max_file_store: 2GB }
max_payload: 1MB
${tls ? tlsBlock(tls) : ''}
cluster {
  name: ia-test
  listen: 127.0.0.1:${routePorts[i]}
  ${tls ? tlsBlock(tls) : ''}
  routes: [
${routePorts.map((p) => `    nats-route://127.0.0.1:${p}`).join('\n')}
  ]
}
`;

/**
 * A three-node JetStream cluster on loopback: random ports, a temporary store per node, a
 * monitoring port per node to see the cluster's state. Resolves once every node reports the same
 * JetStream meta leader (streams can be made then); `stop` ends the nodes by PID and removes the stores.
 */
export async function startTestCluster(options: { timeoutMs?: number; tls?: TestCerts } = {}): Promise<TestCluster> {
  const { timeoutMs = 60_000, tls } = options;
  const dir = await mkdtemp(join(tmpdir(), 'ia-cluster-'));
  const routePorts = await Promise.all(Array.from({ length: SIZE }, () => freePort()));
  const monitorPorts = await Promise.all(Array.from({ length: SIZE }, () => freePort()));
  const nodes: LocalNats[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      routePorts.map(async (_, i) => {
        const configFile = join(dir, `node${i + 1}.conf`);
        await writeFile(configFile, nodeConf(i, routePorts, tls));
        const node = await startLocalNats({
          configFile,
          storeDir: join(dir, `node${i + 1}`),
          monitorPort: monitorPorts[i]!,
          timeoutMs,
        });
        nodes[i] = node;
      }),
    );
    await metaLeader(nodes, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, urls: nodes.map((n) => n.url).join(','), stop };
}

type Jsz = { meta_cluster?: { leader?: string; cluster_size?: number } };

/** Polls every node's /jsz until all name one meta leader of a cluster of three: a condition, not a delay. */
async function metaLeader(nodes: readonly LocalNats[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(
      nodes.map(async (n) => {
        const jsz = (await (await fetch(`${n.monitorUrl}/jsz`)).json().catch(() => ({}))) as Jsz;
        return jsz.meta_cluster?.cluster_size === SIZE ? jsz.meta_cluster.leader : undefined;
      }),
    );
    const [first] = leaders;
    if (first && leaders.every((l) => l === first)) return first;
    if (Date.now() > deadline)
      throw new Error(
        `the test cluster elected no JetStream meta leader within ${timeoutMs} ms: ${leaders.join(', ')}`,
      );
    // The poll's interval, as expect.poll has: the wait ends on the condition, not on a delay.
    await new Promise((r) => setTimeout(r, 100));
  }
}
