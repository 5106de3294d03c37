import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { EXIT } from '../../src/exit-codes.ts';
import { connect as tcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { natsFor, type NatsSession } from '../../src/cli/nats-for.ts';
import { loadConfig } from '../../src/config.ts';
import { ForgedEventError } from '../../src/errors.ts';
import { agentEventTypes, makeEvent } from '../../src/events/agent-events.ts';
import { encodeJson } from '../../src/events/codec.ts';
import { EVENTS_STREAM, WORK_STREAM, commandSubjects, eventSubjects, workActors } from '../../src/events/subjects.ts';
import { connectNats, type NatsConnection } from '../../src/nats/connection.ts';
import { findNatsServer } from '../../src/nats/local-server.ts';
import { CREDENTIALS_FILE, SERVER_CONFIG_FILE, type Credentials } from '../../src/security/credentials.ts';
import { ROLES, roleNames, type Role } from '../../src/security/roles.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };
let dir: string;
let nats: NatsSession;
let credentials: Credentials;
let rt: NatsRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-acl-'));
  // The server exactly as a command of the tool starts it on a project's store.
  nats = await natsFor(await loadConfig({ cwd: dir, env: {} }), dir, { kind: 'run' });
  if (nats.auth.kind !== 'roles') throw new Error('the tool started a server without per-role credentials');
  credentials = nats.auth.credentials;
  rt = await openRuntime(nats.url, await loadConfig({ cwd: dir, env: {} }), 'acl', silent, {
    auth: nats.auth,
    role: 'cli',
  });
});
afterAll(async () => {
  await rt?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const as = (role: Role) => connectNats(nats.url, `acl-${role}`, { kind: 'roles', credentials, source: 'test' }, role);
const publishAs = (nc: NatsConnection, subject: string, body: unknown = {}) =>
  jetstream(nc)
    .publish(subject, encodeJson(body), { timeout: 2000 })
    .then(
      () => 'stored',
      (e: Error) => (/Permissions Violation/.test(e.message) ? 'refused' : e.message),
    );

/** A raw client speaking the NATS protocol with no credentials: what any local process can do. */
function rawPublish(url: string, subject: string, body: string): Promise<string> {
  const { hostname, port } = new URL(url.replace('nats://', 'http://'));
  return new Promise((resolve, reject) => {
    let heard = '';
    const socket = tcp(Number(port), hostname, () =>
      socket.write(`CONNECT {"verbose":false}\r\nPUB ${subject} ${Buffer.byteLength(body)}\r\n${body}\r\nPING\r\n`),
    );
    socket.on('data', (d) => (heard += d.toString()));
    socket.on('close', () => resolve(heard));
    socket.on('error', reject);
  });
}

describe('the control plane admits only its own roles', () => {
  it('keeps its credentials and config readable by the owner only, in the store the sandbox hides', async () => {
    const store = join(dir, '.implement-agent', 'nats');
    expect((await stat(store)).mode & 0o777).toBe(0o700);
    for (const f of [CREDENTIALS_FILE, SERVER_CONFIG_FILE])
      expect((await stat(join(store, f))).mode & 0o777, f).toBe(0o600);
    const checked = await execa(findNatsServer(), ['-c', join(store, SERVER_CONFIG_FILE), '-t'], { reject: false });
    expect(checked.exitCode, checked.stderr + checked.stdout).toBe(0);
  });

  it('refuses an unauthenticated client: a raw execute item and a raw TaskCompleted are not stored', async () => {
    const execute = await rawPublish(nats.url, commandSubjects.work('executor', 'execute'), '{"workdir":"/"}');
    const completed = makeEvent('TaskCompleted', { runId: 'forged', taskId: '1' }, {} as never);
    const forged = await rawPublish(
      nats.url,
      eventSubjects.of('forged', '1', 'TaskCompleted'),
      JSON.stringify(completed),
    );
    for (const heard of [execute, forged]) {
      expect(heard).toMatch(/-ERR 'Authorization Violation'/);
      expect(heard).not.toMatch(/PONG/);
    }
    const admin = await as('admin');
    expect((await (await jetstreamManager(admin)).streams.info(WORK_STREAM)).state.messages).toBe(0);
    await admin.close();
    expect(await rt.store.read({ subject: eventSubjects.run('forged') })).toEqual([]);
    expect(await rt.store.lastSubjectSequence(eventSubjects.run('forged'))).toBe(0);
  });

  it("lets each role publish exactly its row's events and work, and only the admin delete or purge", async () => {
    for (const role of roleNames.filter((r) => r !== 'admin')) {
      const nc = await as(role);
      const spec = ROLES[role];
      const events = await Promise.all(
        agentEventTypes.map(async (t) => [t, await publishAs(nc, eventSubjects.of(`acl-${role}`, '1', t))] as const),
      );
      expect(
        events.filter(([, r]) => r === 'stored').map(([t]) => t),
        role,
      ).toEqual(agentEventTypes.filter((t) => spec.events.includes(t)));
      expect(
        events.filter(([, r]) => r !== 'stored' && r !== 'refused'),
        role,
      ).toEqual([]);
      for (const actor of workActors) {
        // An item no consumer takes (an unknown verb would be dropped; this one is removed below).
        const sent = await publishAs(nc, commandSubjects.work(actor, 'acl-probe'));
        expect(sent, `${role} -> ${actor}`).toBe(spec.sendsWork.includes(actor) ? 'stored' : 'refused');
      }
      const jsm = await jetstreamManager(nc);
      for (const stream of [EVENTS_STREAM, WORK_STREAM]) {
        await expect(jsm.streams.delete(stream), role).rejects.toThrow(/Permissions Violation/);
        await expect(jsm.streams.purge(stream), role).rejects.toThrow(/Permissions Violation/);
      }
      await nc.close();
    }
    // Only the executor records a task as completed, and the monitor writes nothing at all.
    expect(roleNames.filter((r) => r !== 'admin' && ROLES[r].events.includes('TaskCompleted'))).toEqual(['executor']);
    expect(ROLES.monitor.events).toEqual([]);
    const monitor = await as('monitor');
    expect(await publishAs(monitor, '$KV.agent_snapshots.run-status')).toBe('refused');
    await monitor.close();
    // The streams are all still there, with what the roles were allowed to store.
    const jsm = await jetstreamManager(rt.nc);
    expect((await jsm.streams.info(EVENTS_STREAM)).state.messages).toBeGreaterThan(0);
  });

  it('drops, with a warning, an event whose body is not what its subject says', async () => {
    const executor = await as('executor');
    const completed = makeEvent(
      'TaskCompleted',
      { runId: 'mismatch', taskId: '1' },
      { durationMs: 1, commands: 0, recoveries: 0 },
    );
    // Allowed on the subject (a command's result), but the body claims a completed task.
    expect(await publishAs(executor, eventSubjects.of('mismatch', '1', 'CommandFinished'), completed)).toBe('stored');
    await executor.close();
    const invalid: Error[] = [];
    const seen: string[] = [];
    await rt.store.scan({ subject: eventSubjects.run('mismatch'), onInvalid: (e) => invalid.push(e) }, (e) =>
      seen.push(e.type),
    );
    expect(seen).toEqual([]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toBeInstanceOf(ForgedEventError);
  });
});

describe('whole runs with every actor under its own role', () => {
  const refusal = /Permissions Violation|NATS refused|Authorization Violation/i;
  const greeter = async () => {
    const work = await mkdtemp(join(tmpdir(), 'ia-acl-run-'));
    await writeFile(
      join(work, 'tasks.md'),
      await readFile(join(import.meta.dirname, '../../examples/greeter/tasks.md')),
    );
    return work;
  };
  const cli = (args: string[], cwd: string, env: Record<string, string> = {}) =>
    execa(process.execPath, [join(import.meta.dirname, '../../bin/implement-agent.js'), ...args], {
      cwd,
      env: { NO_COLOR: '1', NATS_URL: '', ...env },
      reject: false,
      timeout: 90_000,
    });

  it('`run` with its own server: no permission error anywhere', async () => {
    const work = await greeter();
    try {
      const result = await cli(['run', 'tasks.md'], work);
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toMatch(refusal);
      expect((await readFile(join(work, 'tasks.md'), 'utf8')).match(/\[x\]/g)).toHaveLength(5);
      // Every command after it, each on the store's server under its own role: none refused.
      const runId = /run (r\w+):/.exec(result.stdout)![1]!;
      await writeFile(join(work, 'src/greet.js'), 'edited by hand\n');
      for (const args of [
        ['status', runId],
        ['runs'],
        ['diff', runId, '2'],
        ['verify', runId],
        ['report', runId],
        ['replay'],
        ['resume', runId],
        // Over a hand edit: the CLI stores a copy of what it writes over first.
        ['revert', runId, '2', '--force'],
      ]) {
        const r = await cli(args, work);
        expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(refusal);
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(args[0] === 'verify' ? 1 : 0);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('`up` is joined by actors in their own processes and by a run from elsewhere with --creds', async () => {
    const work = await greeter();
    const up = execa(process.execPath, [join(import.meta.dirname, '../../bin/implement-agent.js'), 'up'], {
      cwd: work,
      env: { NO_COLOR: '1', NATS_URL: '' },
      reject: false,
    });
    const outputs: string[] = [];
    const extra: ReturnType<typeof execa>[] = [];
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        up.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /NATS_URL=(\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        void up.then((r) => reject(new Error(`up ended: ${r.stderr}`)));
      });
      // A second executor in its own process, on the same folder: it joins `up`'s server (the lock names it).
      const executor = execa(
        process.execPath,
        [join(import.meta.dirname, '../../bin/implement-agent.js'), 'actor', 'executor'],
        {
          cwd: work,
          env: { NO_COLOR: '1', NATS_URL: '' },
          reject: false,
        },
      );
      extra.push(executor);
      await new Promise<void>((resolve, reject) => {
        let err = '';
        executor.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          if (/executor up/.test(err)) resolve();
        });
        void executor.then((r) => reject(new Error(`actor executor ended: ${r.stderr}`)));
      });
      const elsewhere = await mkdtemp(join(tmpdir(), 'ia-acl-cli-'));
      const creds = join(work, '.implement-agent', 'nats', CREDENTIALS_FILE);
      const result = await cli(
        ['run', join(work, 'tasks.md'), '--workdir', work, '-s', url, '--creds', creds],
        elsewhere,
      );
      await rm(elsewhere, { recursive: true, force: true });
      outputs.push(result.stdout + result.stderr);
      expect(result.exitCode, outputs[0]).toBe(0);
      expect((await readFile(join(work, 'tasks.md'), 'utf8')).match(/\[x\]/g)).toHaveLength(5);
    } finally {
      for (const p of [...extra, up]) {
        p.kill('SIGTERM');
        const r = await p;
        outputs.push(String(r.stdout) + String(r.stderr));
      }
      await rm(work, { recursive: true, force: true });
    }
    expect(outputs.join('\n')).not.toMatch(refusal);
  });

  it('six runs started at once in one folder take turns on one nats-server at a time, and none hangs', async () => {
    const work = await mkdtemp(join(tmpdir(), 'ia-acl-race-'));
    await writeFile(join(work, 'tasks.md'), '- [ ] 1. Wait a little\n  ```bash\n  sleep 0.5\n  ```\n');
    const store = join(work, '.implement-agent', 'nats');
    const serversOnStore = async () =>
      (await execa('pgrep', ['-f', `nats-server.*${store}`], { reject: false })).stdout.split('\n').filter(Boolean);
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) most = Math.max(most, (await serversOnStore()).length);
    })();
    try {
      const runs = await Promise.all(Array.from({ length: 6 }, () => cli(['run', 'tasks.md', '--force'], work)));
      sampling = false;
      await sampler;
      expect(most).toBe(1);
      // A run finds the store held by another: it waits its turn, says for whom, then runs.
      expect(
        runs.map((r) => r.exitCode),
        runs.map((r) => r.stderr).join('\n'),
      ).toEqual(Array.from({ length: 6 }, () => EXIT.ok));
      const waited = runs.filter((r) => /waiting for implement-agent \(pid \d+\) to finish/.test(r.stderr));
      expect(waited.length).toBeGreaterThanOrEqual(1);
      expect(await serversOnStore()).toEqual([]);
    } finally {
      sampling = false;
      await rm(work, { recursive: true, force: true });
    }
    // Six runs one after the other, each with its own server.
  }, 300_000);
});
