import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { append, send, workInputs, type ActorDefinition, type Runtime } from '../../src/actors/actor.ts';
import { executorActor } from '../../src/actors/executor/actor.ts';
import { executorPorts } from '../../src/host/executor-ports.ts';
import { runActor } from '../../src/host/run-actor.ts';
import { ACTOR_DEFINITIONS, hostActors, missingActors } from '../../src/host/hosts.ts';
import { submitRun } from '../../src/host/submit-run.ts';
import { UnansweredError } from '../../src/errors.ts';
import type { MemoryWorkQueue } from '../../src/events/memory-bus.ts';
import { makeEvent } from '../../src/events/agent-events.ts';
import { eventIds } from '../../src/events/ids.ts';
import type { ExecuteTask, StartRun } from '../../src/events/work-commands.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';
import { memoryRuntime } from '../helpers/runtime.ts';
import { actorNames, type WorkActor } from '../../src/events/subjects.ts';

/**
 * The hosts on the in-memory runtime: the same actors `implement-agent up` runs, with the event
 * log, work queue and requests in memory, real commands in a temporary folder, no server.
 */
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workspace(tasksMd: string) {
  const dir = await mkdtemp(join(tmpdir(), 'ia-hosts-'));
  dirs.push(dir);
  const tasksFile = join(dir, 'tasks.md');
  await writeFile(tasksFile, tasksMd);
  return { dir, tasksFile };
}

const options = {
  taskConcurrency: 2,
  commandConcurrency: 2,
  continuePolicy: 'dependencies-successful',
  llm: 'offline',
  planAhead: 0,
  skipOptional: false,
} as const;

function startOf(runId: string, tasksFile: string, workdir: string, tasksMd: string): StartRun {
  return { runId, tasksFile, workdir, tasks: parseTasks(tasksMd, tasksFile), options };
}

describe('the five actors on the in-memory runtime', () => {
  it('run a task list to the end: plans, commands, a recovery through the recoverer, ticks', async () => {
    const tasksMd = [
      '- [ ] 1. Write the greeting',
      '  ```bash',
      '  echo hello > greeting.txt',
      '  ```',
      '- [ ] 2. Keep a log (its folder is missing: recovery makes it)',
      '  - Depends: 1',
      '  ```bash',
      '  cat greeting.txt > logs/today/greeting.log',
      '  ```',
    ].join('\n');
    const { dir, tasksFile } = await workspace(tasksMd);
    const rt = await memoryRuntime();
    const hosted = await hostActors(rt);
    try {
      expect(await missingActors(rt)).toEqual([]);
      const start = startOf('mem1', tasksFile, dir, tasksMd);
      expect(await submitRun(rt, start)).toBe('succeeded');
      const types = (await rt.store.readRun('mem1')).map((e) => e.type);
      expect(types.filter((t) => t === 'TaskCompleted')).toHaveLength(2);
      expect(types).toContain('RecoveryAttempted');
      expect(types).toContain('RecoveryResolved');
      expect(await readFile(join(dir, 'logs/today/greeting.log'), 'utf8')).toBe('hello\n');
      await expect.poll(() => readFile(tasksFile, 'utf8')).toMatch(/- \[x\] 1\.[\s\S]*- \[x\] 2\./);
      // The start item again (a redelivery after a crash): the run's snapshot says it is over,
      // and the coordinator lets the item go instead of waiting for events that will not come.
      await rt.work.publish('coordinator', 'start', start, 'start:mem1:again');
      await expect.poll(() => (rt.work as MemoryWorkQueue).unfinished('coordinator')).toBe(0);
      expect((await rt.store.readRun('mem1')).filter((e) => e.type === 'RunFinished')).toHaveLength(1);
    } finally {
      await hosted.stop();
    }
    expect(await missingActors(rt, 50)).toEqual([...actorNames]);
  });

  it('hosts every actor of the one list, each under its own name, and each answers its ping', async () => {
    const rt = await memoryRuntime();
    for (const name of actorNames) expect(ACTOR_DEFINITIONS[name]().name).toBe(name);
    const hosted = await hostActors(rt);
    try {
      expect(hosted.names).toEqual([...actorNames]);
      expect(await missingActors(rt, 200)).toEqual([]);
    } finally {
      await hosted.stop();
    }
    expect(await missingActors(rt, 50)).toEqual([...actorNames]);
  });

  it('a task that fails takes its dependants with it, and the run says which', async () => {
    const tasksMd = [
      '- [ ] 1. Fails',
      '  ```bash',
      '  exit 3',
      '  ```',
      '- [ ] 2. After it',
      '  - Depends: 1',
      '  ```bash',
      '  touch never',
      '  ```',
    ].join('\n');
    const { dir, tasksFile } = await workspace(tasksMd);
    const rt = await memoryRuntime();
    const hosted = await hostActors(rt);
    try {
      expect(await submitRun(rt, startOf('mem2', tasksFile, dir, tasksMd))).toBe('failed');
      const finished = (await rt.store.readRun('mem2')).find((e) => e.type === 'RunFinished');
      expect(finished?.type === 'RunFinished' && finished.data).toMatchObject({ failed: ['1'], skipped: ['2'] });
      await expect(access(join(dir, 'never'))).rejects.toThrow();
    } finally {
      await hosted.stop();
    }
  });
});

describe('runActor, the one host', () => {
  const task = (runId: string, dir: string): ExecuteTask => ({
    runId,
    taskId: '1',
    workdir: dir,
    plan: explicitPlan(parseTasks('- [ ] 1. X\n  ```bash\n  touch ran\n  ```')[0]!),
    planEventId: 'p',
    llm: 'offline',
    commandConcurrency: 1,
    generation: 0,
  });

  it('leaves undone the work of a finished run, and of a task that has its outcome', async () => {
    const rt = await memoryRuntime();
    const { dir } = await workspace('');
    await rt.store.append(
      makeEvent(
        'RunFinished',
        { runId: 'over', id: eventIds.runFinished('over') },
        { status: 'succeeded', completed: [], failed: [], skipped: [], durationMs: 1 },
      ),
    );
    await rt.store.append(
      makeEvent('TaskCompleted', { runId: 'done', taskId: '1' }, { durationMs: 1, commands: 1, recoveries: 0 }),
    );
    const executor = await runActor(rt, executorActor(executorPorts));
    await rt.work.publish('executor', 'execute', task('over', dir), 'x1');
    await rt.work.publish('executor', 'execute', task('done', dir), 'x2');
    await executor.stop();
    expect((await rt.store.read()).map((e) => e.type)).toEqual(['RunFinished', 'TaskCompleted']);
    await expect(access(join(dir, 'ran'))).rejects.toThrow();
  });

  it('performs the effects a handler returns, retrying a send that failed for a transient reason', async () => {
    const rt = await memoryRuntime();
    let failures = 1;
    const sent: string[] = [];
    const work = rt.work;
    const flaky: Runtime = {
      ...rt,
      work: Object.assign(Object.create(work) as typeof work, {
        publish: async (actor: WorkActor, verb: string, item: unknown, id: string) => {
          sent.push(id);
          if (failures-- > 0) throw new UnansweredError('agent.cmd', 'no answer within 1000 ms');
          return work.publish(actor, verb, item, id);
        },
      }),
    };
    const handled: number[] = [];
    const definition: ActorDefinition<undefined> = {
      name: 'executor',
      open: async () => undefined,
      inputs: workInputs({
        actor: 'executor',
        schema: z.object({ n: z.number() }),
        parallel: () => 1,
        handle: async (item) => {
          handled.push(item.n);
          return [
            send('decomposer', 'plan', { n: item.n }, `fx-send:${item.n}`),
            append(
              makeEvent(
                'TaskSkipped',
                { runId: 'fx', taskId: String(item.n), id: `fx:${item.n}` },
                { reason: 'test', optional: false },
              ),
            ),
          ];
        },
      }),
    };
    const actor = await runActor(flaky, definition);
    await rt.work.publish('executor', 'execute', { n: 1 }, 'fx1');
    await expect.poll(async () => (await rt.store.readRun('fx')).length, { timeout: 5000 }).toBe(1);
    await actor.stop();
    // The send performed after one retry, then the append; the item acknowledged: handled once.
    expect(sent).toEqual(['fx-send:1', 'fx-send:1']);
    expect(handled).toEqual([1]);
  });

  it('refuses to start an actor whose resources cannot open, with the reason', async () => {
    const rt = await memoryRuntime();
    const broken: ActorDefinition<undefined> = {
      name: 'memory',
      open: async () => {
        throw new Error('snapshot bucket unreadable');
      },
    };
    await expect(runActor(rt, broken)).rejects.toThrow('snapshot bucket unreadable');
    expect(await missingActors(rt, 50)).toContain('memory');
  });
});
