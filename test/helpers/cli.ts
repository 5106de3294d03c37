import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { connectNats } from '../../src/nats/connection.ts';
import type { EventOf, StoredEvent } from '../../src/events/agent-events.ts';
import { actorNames } from '../../src/events/subjects.ts';
import { REPO_ROOT } from './nats.ts';

export const CLI = join(REPO_ROOT, 'bin/implement-agent.js');

/** Temporary working folders, each with a tasks.md, removed by `cleanup`. */
export function workspaces() {
  const dirs: string[] = [];
  return {
    async make(tasks: string): Promise<{ dir: string; tasks: string }> {
      const dir = await mkdtemp(join(tmpdir(), 'ia-ws-'));
      dirs.push(dir);
      const file = join(dir, 'tasks.md');
      await writeFile(file, tasks);
      return { dir, tasks: file };
    },
    cleanup: () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))),
  };
}

/** Runs the real CLI in a child process; `--json` output parsed into the run's events. */
export async function runCli(args: string[], env: Record<string, string>, cwd?: string) {
  const result = await execa(process.execPath, [CLI, ...args, '--json'], {
    reject: false,
    env,
    timeout: 120_000,
    ...(cwd ? { cwd } : {}),
  });
  const events = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StoredEvent);
  return { result, events };
}

/** The events of one type, typed. */
export function ofType<T extends StoredEvent['type']>(
  events: readonly StoredEvent[],
  type: T,
): (EventOf<T> & StoredEvent)[] {
  return events.filter((e) => e.type === type) as (EventOf<T> & StoredEvent)[];
}

/**
 * Waits until every actor answers its ping: a `run` started before would host the missing ones
 * itself, and a test that kills an actor process would kill one that has no work.
 */
export async function waitForActors(
  url: string,
  names: readonly string[] = actorNames,
  timeoutMs = 60_000,
): Promise<void> {
  const nc = await connectNats(url, 'wait-for-actors');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const answers = await Promise.all(
        names.map((n) =>
          nc.request(`agent.ctl.${n}.ping`, undefined, { timeout: 300 }).then(
            () => true,
            () => false,
          ),
        ),
      );
      if (answers.every(Boolean)) return;
      if (Date.now() > deadline)
        throw new Error(`actors not up after ${timeoutMs} ms: ${names.filter((_, i) => !answers[i]).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await nc.close();
  }
}

/** Resolves with the first match of `pattern` in what a child process prints (it rejects if the stream ends first). */
export function printed(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) resolve(m);
    });
    stream.on('end', () => reject(new Error(`ended without ${pattern}: ${text}`)));
  });
}
