import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { RecoverReplySchema } from '../../src/events/work-commands.ts';
import { commandSubjects, eventSubjects } from '../../src/events/subjects.ts';
import { natsPerSuite, REPO_ROOT } from '../helpers/nats.ts';
import { portInUseFailure } from '../helpers/port-in-use.ts';
import { testRuntime } from '../helpers/runtime.ts';

/**
 * src/actors/README.md's "Adding an actor" steps, followed word for word in a copy of the
 * repository: `recoverer/` copied to `reviewer/`, renamed, listed, hosted and given its role;
 * then the new actor, hosted in a process of its own on a real
 * nats-server, answers a request and records its effect in the log.
 */

const nats = natsPerSuite();
const tree = mkdtempSync(join(tmpdir(), 'ia-sixth-'));
let host: ResultPromise | undefined;

afterAll(async () => {
  host?.stdin?.end();
  await host?.catch(() => undefined);
  rmSync(tree, { recursive: true, force: true });
});

/** Replaces `from` by `to` in a file of the copy, failing when a step no longer matches the code. */
function edit(path: string, from: string | RegExp, to: string): void {
  const file = join(tree, path);
  const text = readFileSync(file, 'utf8');
  expect(text, `${path} has ${String(from)}`).toMatch(from);
  writeFileSync(file, text.replace(from, to));
}

function copyRepository(): void {
  for (const part of ['src', 'test/helpers', 'package.json', 'tsconfig.json', 'nats.conf'])
    cpSync(join(REPO_ROOT, part), join(tree, part), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'));
}

function followTheSteps(): void {
  // 1. Copy the folder, rename the definition, its name and its queue.
  cpSync(join(tree, 'src/actors/recoverer'), join(tree, 'src/actors/reviewer'), { recursive: true });
  edit('src/actors/reviewer/actor.ts', /recovererActor/g, 'reviewerActor');
  edit('src/actors/reviewer/actor.ts', "name: 'recoverer'", "name: 'reviewer'");
  edit('src/actors/reviewer/actor.ts', "queue: 'recoverer'", "queue: 'reviewer'");
  // 2. The one list of actors.
  edit('src/events/subjects.ts', "'recoverer', 'memory'] as const;", "'recoverer', 'memory', 'reviewer'] as const;");
  // 3. Its line in ACTOR_DEFINITIONS.
  edit(
    'src/host/hosts.ts',
    "import { roleOf } from '../security/roles.ts';",
    "import { reviewerActor } from '../actors/reviewer/actor.ts';\nimport { roleOf } from '../security/roles.ts';",
  );
  edit(
    'src/host/hosts.ts',
    '  memory: () => memoryActor(),',
    '  memory: () => memoryActor(),\n  reviewer: () => reviewerActor(recovererPorts),',
  );
  // 4. Its row in ROLES, a copy of the recoverer's.
  const roles = readFileSync(join(tree, 'src/security/roles.ts'), 'utf8');
  const row = /\n {2}recoverer: \{[^]*?\n {2}\},/.exec(roles)![0];
  const copied = row.replace('recoverer:', 'reviewer:').replace("ping('recoverer')", "ping('reviewer')");
  edit('src/security/roles.ts', '\n  cli: {', `${copied}\n  cli: {`);
}

describe('a sixth actor, by copying a folder', () => {
  it('runs under the host and records what it decides in the log', { timeout: 120_000 }, async () => {
    copyRepository();
    followTheSteps();

    const script = join(tree, 'host-reviewer.ts');
    writeFileSync(
      script,
      [
        "import { hostActors } from './src/host/hosts.ts';",
        "import { testRuntime } from './test/helpers/runtime.ts';",
        'const rt = await testRuntime(process.env.NATS_URL!);',
        "const hosted = await hostActors(rt, ['reviewer' as never]);",
        "process.stdout.write('hosted\\n');",
        "process.stdin.on('end', () => void hosted.stop().then(() => rt.close()));",
        'process.stdin.resume();',
      ].join('\n'),
    );
    host = execa(join(REPO_ROOT, 'node_modules/.bin/tsx'), [script], {
      cwd: tree,
      env: { NATS_URL: nats.url },
      stdin: 'pipe',
      // A host that did not stop by then is ended: the test leaves no process behind.
      timeout: 110_000,
    });
    await new Promise<void>((resolve, reject) => {
      host!.stdout!.on('data', (d: Buffer) => d.toString().includes('hosted') && resolve());
      host!.catch(reject);
    });

    const rt = await testRuntime(nats.url);
    try {
      // It answers under its own name...
      await rt.requests.request(commandSubjects.ping('reviewer' as never), {}, z.unknown(), 2000);
      // ...and takes a request: its effect, the decision, is in the log before the reply.
      const request = portInUseFailure(tree);
      const reply = await rt.requests.request(commandSubjects.recover(), request, RecoverReplySchema, 30_000);
      expect(reply).toMatchObject({ decision: 'fix', source: 'pattern' });
      const events = await rt.store.read({ subject: eventSubjects.task(request.runId, request.taskId) });
      expect(events.map((e) => e.type)).toEqual(['RecoveryAttempted']);
    } finally {
      await rt.close();
    }
  });
});
