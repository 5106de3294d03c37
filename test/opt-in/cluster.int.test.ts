import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/events/agent-events.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { LOOPBACK_NODES, clusterUrls, nodeConfFile } from '../../src/security/cluster-config.ts';
import { CREDENTIALS_FILE, readCredentials } from '../../src/security/credentials.ts';
import { CLI } from '../helpers/cli.ts';

/**
 * A three-node JetStream cluster on loopback, made by `cluster init` (authentication on, routes
 * authenticated), streams with 3 replicas; every process connects with its credentials.json.
 */
let nodes: LocalNats[] = [];
let dir: string;
let creds: string;
const URLS = clusterUrls(LOOPBACK_NODES);
const refusal = /Permissions Violation|NATS refused|Authorization Violation/i;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-cluster-'));
  const conf = join(dir, 'cluster');
  const init = await execa(process.execPath, [CLI, 'cluster', 'init', conf], { reject: false });
  expect(init.exitCode, init.stderr).toBe(0);
  creds = join(conf, CREDENTIALS_FILE);
  nodes = await Promise.all(
    LOOPBACK_NODES.map((node, i) =>
      startLocalNats({
        configFile: join(conf, nodeConfFile(i)),
        storeDir: join(dir, `node${i + 1}`),
        port: node.port,
        timeoutMs: 30_000,
      }),
    ),
  );
}, 60_000);
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** The first node leaves gracefully (SIGTERM: it tells the others) or crashes (SIGKILL: they find out). */
const stopFirstNode = {
  stopped: () => nodes[0]!.stop(),
  killed: async () => void process.kill(nodes[0]!.pid, 'SIGKILL'),
};

describe('three-node cluster', () => {
  it.each(Object.keys(stopFirstNode) as (keyof typeof stopFirstNode)[])(
    'loses nothing when a node is %s during a run',
    { timeout: 180_000 },
    async (how) => {
      const work = join(dir, 'work');
      await execa('mkdir', ['-p', work]);
      const tasks = Array.from(
        { length: 6 },
        (_, i) => `- [ ] ${i + 1}. Step ${i + 1}\n  \`\`\`bash\n  sleep 0.5; echo ${i + 1} >> steps.txt\n  \`\`\``,
      ).join('\n');
      await writeFile(join(work, 'tasks.md'), tasks);
      await writeFile(
        join(work, 'implement-agent.config.json'),
        JSON.stringify({ natsReplicas: 3, workAckWaitMs: 3000 }),
      );
      // The cluster elects its JetStream leader after the nodes answer health checks: wait for it.
      // The observer makes the replicated streams as the admin would, and reads the log.
      const auth = { kind: 'roles', credentials: await readCredentials(creds), source: creds } as const;
      const nc = await connectNats(URLS, 'cluster-observer', auth, 'admin');
      let store: EventStore | undefined;
      for (let i = 0; i < 60 && !store; i++)
        store = await EventStore.open(nc, { replicas: 3 }).catch(
          async () => (await new Promise((r) => setTimeout(r, 500)), undefined),
        );
      expect(store).toBeDefined();
      const run = execa(process.execPath, [CLI, 'run', join(work, 'tasks.md'), '--workdir', work, '--json'], {
        cwd: work,
        env: { NATS_URL: URLS, NATS_CREDS: creds },
        reject: false,
      });
      await expect
        .poll(async () => (await store!.read()).filter((e) => e.type === 'TaskCompleted').length, {
          timeout: 60_000,
          interval: 200,
        })
        .toBeGreaterThanOrEqual(2);
      await stopFirstNode[how]();
      const result = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      // Each actor of the run connected under its own role, and no role was refused anything.
      expect(result.stderr).not.toMatch(refusal);
      const printed = result.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as StoredEvent);
      const stored = await store!.readRun(printed[0]!.runId);
      expect(stored.map((e) => e.id)).toEqual(printed.map((e) => e.id));
      expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
      expect(stored.filter((e) => e.type === 'TaskCompleted')).toHaveLength(6);
      // Each recorded start ran once; a command in flight at the stop may have started twice (at-least-once).
      const lines = (await readFile(join(work, 'steps.txt'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(stored.filter((e) => e.type === 'CommandStarted').length);
      expect([...new Set(lines)].sort()).toEqual(['1', '2', '3', '4', '5', '6']);
      const info = await store!.jsm.streams.info('AGENT_EVENTS');
      expect(info.config.num_replicas).toBe(3);
      await nc.close();
    },
  );
});
