import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkMode } from '../../src/exec/netns.ts';
import { onPath } from '../../src/exec/netns.ts';
import { probeBwrap } from '../../src/exec/sandbox.ts';
import { confinedRunner } from '../helpers/confined.ts';
import { REPO_ROOT, startTestNats } from '../helpers/nats.ts';

const bwrapWorks = (await probeBwrap()) === undefined;
const slirp = onPath('slirp4netns') !== undefined;
/** An address of this machine that is not loopback: where "the internet" answers, with no internet here. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && !a.internal && a.family === 'IPv4')?.address;

let nats: Awaited<ReturnType<typeof startTestNats>>;
const servers: Server[] = [];
let loopbackPort = 0;
let externalPort = 0;
const dirs: string[] = [];

async function listen(host: string): Promise<number> {
  const server = createServer((c) => c.end('hello from the host\n'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

async function folder(parent: string, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(parent, prefix));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  nats = await startTestNats();
  loopbackPort = await listen('127.0.0.1');
  if (external) externalPort = await listen(external);
});
afterAll(async () => {
  for (const s of servers) s.close();
  await nats?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Connects to host:port from inside and prints the first line the server sends (nats-server: its INFO). */
const connect = (host: string, port: number) =>
  `python3 -c "import socket; s=socket.create_connection(('${host}', ${port}), timeout=5); print('GOT', s.recv(200).decode()[:40])"`;

/** A raw NATS publish of a forged work item, as an attacker inside the sandbox would write it. */
const publish = (port: number) =>
  `python3 -c "import socket; s=socket.create_connection(('127.0.0.1', ${port}), timeout=5); s.recv(4096); s.sendall(b'CONNECT {\\"verbose\\":false}\\r\\nPUB agent.cmd.executor.execute 2\\r\\n{}\\r\\nPING\\r\\n'); print('GOT', s.recv(200).decode()[:40])"`;

describe.skipIf(!bwrapWorks)("a command's network (real bubblewrap, slirp4netns, nats-server)", () => {
  it.each<NetworkMode>(['none', 'outbound'])(
    "cannot reach the run's nats-server nor any listener on the host's loopback (network %s)",
    async (network) => {
      if (network === 'outbound' && !slirp) return;
      const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network } });
      const workdir = await folder(tmpdir(), 'ia-net-');
      try {
        expect(sandbox.confinement.kind === 'bwrap' && sandbox.confinement.network.mode).toBe(network);
        expect(sandbox.said.join('\n')).toContain(`sandbox.network is "${network}"`);
        const natsPort = Number(new URL(nats.url).port);
        for (const command of [
          publish(natsPort),
          connect('127.0.0.1', loopbackPort),
          connect('10.0.2.2', loopbackPort),
        ]) {
          const result = await sandbox.run(command, workdir);
          expect(result.exitCode, command).not.toBe(0);
          expect(result.stdoutTail).not.toContain('GOT');
        }
        // The namespace has a route out: a listener on a non-loopback address of this machine answers.
        if (network === 'outbound' && external) {
          const out = await sandbox.run(connect(external, externalPort), workdir);
          expect(out.stdoutTail).toContain('GOT hello from the host');
        }
      } finally {
        await sandbox.cleanup();
      }
    },
  );

  it('reaches the host\'s loopback only with network "host", named as unsafe', async () => {
    const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'host' } });
    const workdir = await folder(tmpdir(), 'ia-net-');
    try {
      expect(sandbox.said.join('\n')).toMatch(/sandbox.network is "host": .*unsafe/);
      const result = await sandbox.run(connect('127.0.0.1', Number(new URL(nats.url).port)), workdir);
      expect(result.stdoutTail).toContain('GOT INFO');
    } finally {
      await sandbox.cleanup();
    }
  });
});

describe.skipIf(!bwrapWorks)('what a confined command sees of the filesystem (real bubblewrap)', () => {
  it('has a /var/tmp of its own: neither sees what is there nor leaves anything there', async () => {
    const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'none' } });
    const outside = await folder('/var/tmp', 'ia-vartmp-');
    const workdir = await folder(tmpdir(), 'ia-fs-');
    try {
      await writeFile(join(outside, 'host-file'), 'host\n');
      const name = `ia-left-${process.pid}`;
      const result = await sandbox.run(
        `ls ${outside}/host-file; echo inside > /var/tmp/${name} && echo wrote`,
        workdir,
      );
      expect(result.stderrTail).toMatch(/No such file or directory/);
      expect(result.stdoutTail).toContain('wrote');
      expect(existsSync(`/var/tmp/${name}`)).toBe(false);
    } finally {
      await sandbox.cleanup();
    }
  });

  it('cannot connect to a unix socket outside the working directory, wherever it is (not a list of names)', async () => {
    const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'none' } });
    const workdir = await folder(tmpdir(), 'ia-fs-');
    // One in /var/tmp, one in a folder nobody would think to list (the repository's own).
    const places = [await folder('/var/tmp', 'ia-sock-'), await folder(REPO_ROOT, '.ia-sock-')];
    const sockets = await Promise.all(
      places.map(async (dir) => {
        const server = createServer((c) => c.end('hello from the host\n'));
        servers.push(server);
        const path = join(dir, 'app.sock');
        await new Promise<void>((resolve) => server.listen(path, resolve));
        return path;
      }),
    );
    try {
      for (const path of sockets) {
        const result = await sandbox.run(
          `python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('${path}'); print('GOT', s.recv(64).decode())"`,
          workdir,
        );
        expect(result.stdoutTail, path).not.toContain('GOT');
        expect(result.stderrTail).toMatch(/ConnectionRefusedError|FileNotFoundError/);
      }
    } finally {
      await sandbox.cleanup();
    }
  });

  it("cannot write the tool's config in the working directory, nor plant one that the next run would read", async () => {
    const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'none' } });
    const workdir = await folder(tmpdir(), 'ia-fs-');
    const config = join(workdir, 'implement-agent.config.json');
    const unconfined = `echo '{"sandbox": "none", "policy": {"allow": ["outside-workdir"]}}' > implement-agent.config.json`;
    try {
      const planted = await sandbox.run(unconfined, workdir);
      expect(planted.refused).toMatch(/created .*implement-agent.config.json.*removed/);
      expect(existsSync(config)).toBe(false);

      await writeFile(config, '{"sandbox": "bwrap"}\n');
      const rewritten = await sandbox.run(unconfined, workdir);
      expect(rewritten.exitCode).not.toBe(0);
      expect(rewritten.stderrTail).toMatch(/Read-only file system/);
      expect(await readFile(config, 'utf8')).toBe('{"sandbox": "bwrap"}\n');
      expect((await sandbox.run('rm -f implement-agent.config.json', workdir)).exitCode).not.toBe(0);
      expect(existsSync(config)).toBe(true);
    } finally {
      await sandbox.cleanup();
    }
  });
});
