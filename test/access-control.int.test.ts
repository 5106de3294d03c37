import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../src/events/agent-events.ts';
import { encodeJson } from '../src/events/codec.ts';
import { EventStore } from '../src/nats/event-store.ts';
import { startLocalNats, type LocalNats } from '../src/nats/local-server.ts';
import { CLI } from './helpers/cli.ts';
import { REPO_ROOT } from './helpers/nats.ts';
import { actorNames } from '../src/events/subjects.ts';

const ROLES = [...actorNames, 'cli', 'monitor'] as const;
// nats-server parses an environment value as a config value: a leading letter keeps it a string.
const passwords = Object.fromEntries(ROLES.map((r) => [r, `pw${randomBytes(12).toString('hex')}`]));
let server: LocalNats;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-acl-'));
  server = await startLocalNats({
    configFile: join(REPO_ROOT, 'nats-secure.conf'),
    storeDir: join(dir, 'store'),
    env: { ...Object.fromEntries(ROLES.map((r) => [`IA_${r.toUpperCase()}_PASSWORD`, passwords[r]!])) },
  });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const as = (role: (typeof ROLES)[number]) => connect({ servers: server.url, user: role, pass: passwords[role]! });
const event = (type: 'PlanCreated' | 'CommandFinished' | 'TaskFailed') => `agent.events.r1.1.${type}`;

describe('access control (nats-secure.conf)', () => {
  it('lets the executor record command results but not plans, and the monitor only read', async () => {
    const executor = await as('executor');
    await EventStore.open(executor);
    const js = jetstream(executor);
    const finished = makeEvent(
      'CommandFinished',
      { runId: 'r1', taskId: '1' },
      {
        commandId: 'c1',
        command: 'true',
        attempt: 0,
        purpose: 'plan',
        exitCode: 0,
        signal: null,
        timedOut: false,
        durationMs: 1,
        startedAt: new Date().toISOString(),
        stdoutTail: '',
        stderrTail: '',
        truncated: false,
        redacted: [],
      },
    );
    await expect(js.publish(event('CommandFinished'), encodeJson(finished), { timeout: 2000 })).resolves.toMatchObject({
      stream: 'AGENT_EVENTS',
    });
    // A foreign writer with the right to the subject but not the schema: readers pass it over.
    await js.publish(event('CommandFinished'), encodeJson({ not: 'an event' }), { timeout: 2000 });
    // Refused by the server for the subject, not merely unanswered: a timeout would not prove it.
    await expect(js.publish(event('PlanCreated'), encodeJson({}), { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/i,
    );
    await executor.close();

    // The monitor's read right is required: it opens the store and reads what the executor wrote.
    const monitor = await as('monitor');
    const store = await EventStore.open(monitor);
    expect(
      await jetstream(monitor)
        .publish(event('TaskFailed'), encodeJson({}), { timeout: 2000 })
        .then(
          () => 'stored',
          (e: Error) => e.message,
        ),
    ).toMatch(/Permissions Violation/i);
    expect((await store.read({ subject: 'agent.events.r1.>' })).map((e) => e.id)).toEqual([finished.id]);
    await monitor.close();
  });

  it('runs a task list with every actor under its own user', async () => {
    const work = await mkdtemp(join(tmpdir(), 'ia-acl-run-'));
    await writeFile(join(work, 'tasks.md'), await readFile(join(REPO_ROOT, 'examples/greeter/tasks.md'), 'utf8'));
    const env = (role: string) => ({ NATS_URL: server.url, NATS_USER: role, NATS_PASSWORD: passwords[role]! });
    const actors: ResultPromise[] = actorNames.map((r) =>
      execa(process.execPath, [CLI, 'actor', r], { env: env(r), reject: false }),
    );
    try {
      const nc = await as('cli');
      await expect
        .poll(
          async () =>
            (
              await Promise.all(
                actorNames.map((n) =>
                  nc.request(`agent.ctl.${n}.ping`, undefined, { timeout: 300 }).then(
                    () => true,
                    () => false,
                  ),
                ),
              )
            ).every(Boolean),
          { timeout: 30_000, interval: 200 },
        )
        .toBe(true);
      await nc.close();
      const passwordFile = join(work, 'cli.password');
      await writeFile(passwordFile, passwords.cli!);
      const result = await execa(process.execPath, [CLI, 'run', join(work, 'tasks.md'), '--workdir', work], {
        env: { NATS_URL: server.url, NATS_USER: 'cli', NATS_PASSWORD_FILE: passwordFile },
        reject: false,
        timeout: 60_000,
      });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect((await readFile(join(work, 'tasks.md'), 'utf8')).match(/\[x\]/g)).toHaveLength(5);
      // Sanity: the log holds events recorded by several users.
      const reader = await as('monitor');
      const types = new Set((await (await EventStore.open(reader)).read()).map((e) => e.type));
      expect(types).toEqual(
        new Set([
          'RunStarted',
          'TaskSubmitted',
          'PlanCreated',
          'CommandStarted',
          'CommandFinished',
          'TaskFilesChanged',
          'TaskCompleted',
          'RunFinished',
        ]),
      );
      await reader.close();
    } finally {
      for (const a of actors) a.kill('SIGTERM');
      await Promise.all(actors);
      await rm(work, { recursive: true, force: true });
    }
  });
});
