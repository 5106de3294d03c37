import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/actors/coordinator/decide.ts';
import { startEffects } from '../../src/actors/coordinator/effects.ts';
import { coordinatorState } from '../../src/actors/coordinator/state.ts';
import { alreadyPlanned } from '../../src/actors/decomposer/state.ts';
import { refusal, refusedOutcome } from '../../src/actors/executor/decide.ts';
import { resumePoint } from '../../src/actors/executor/state.ts';
import { historyWrites } from '../../src/actors/memory/decide.ts';
import { memoryState } from '../../src/actors/memory/state.ts';
import { attemptEvents } from '../../src/actors/recoverer/decide.ts';
import { recovererState } from '../../src/actors/recoverer/state.ts';
import { makeEvent } from '../../src/events/agent-events.ts';
import type { StartRun } from '../../src/events/work-commands.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';
import { given } from '../helpers/given-when-then.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

/** Every actor folder has one shape (src/actors/README.md): its state, its decide, its definition. */

const ACTORS = join(REPO_ROOT, 'src', 'actors');
const CORE_FILES = ['state.ts', 'decide.ts', 'actor.ts'];
const folders = readdirSync(ACTORS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

describe('actor folders', () => {
  it.each(folders)('src/actors/%s has state.ts, decide.ts and actor.ts, which defines its actor', (folder) => {
    expect(CORE_FILES.filter((f) => !existsSync(join(ACTORS, folder, f)))).toEqual([]);
    expect(readFileSync(join(ACTORS, folder, 'actor.ts'), 'utf8')).toMatch(
      new RegExp(`export const ${folder}Actor = [^]*?name: '${folder}'`),
    );
  });
});

describe("every actor's decide, given/when/then", () => {
  it('coordinator: given a run of one task submitted, when it decides, then it plans that task', () => {
    const start: StartRun = {
      runId: 'r',
      tasksFile: '/w/tasks.md',
      workdir: '/w',
      tasks: parseTasks('- [ ] 1. Build\n  ```bash\n  make\n  ```'),
      options: {
        taskConcurrency: 1,
        commandConcurrency: 1,
        continuePolicy: 'dependencies-successful',
        llm: 'offline',
        planAhead: 0,
        skipOptional: false,
      },
    };
    const events = startEffects(start).flatMap((e) => (e.kind === 'append' ? e.events : []));
    given(events, coordinatorState('r'))
      .when((status) => decide(status, new Set()).map((d) => `${d.kind}:${'taskId' in d ? d.taskId : ''}`))
      .then(['plan:1']);
  });

  it('decomposer: given a plan recorded at revision 0, when the item comes again, then nothing is planned twice', () => {
    const created = makeEvent('PlanCreated', { runId: 'r', taskId: '1' }, { revision: 0 } as never);
    given([created])
      .when((events) => alreadyPlanned(events, 0) && !alreadyPlanned(events, 1))
      .then(true);
  });

  it('executor: given no RunStarted, when an item comes, then it is refused and nothing is recorded', () => {
    const item = { runId: 'r', taskId: '1', workdir: '/w' };
    given([])
      .when((events) => [refusal(item, undefined), refusedOutcome(item, undefined, events, 'unknown run')])
      .then(['run r is not recorded in the log (no RunStarted)', []]);
    given([])
      .when((events) => resumePoint(events, 'here'))
      .then({ done: [], nextAttempt: {}, recoveryAttempts: 0, orphans: [] });
  });

  it('recoverer: given no statistics, when it answers a fix, then the fix is recorded; a give-up is not', () => {
    const fix = {
      decision: 'fix',
      strategyId: 'mkdir',
      source: 'pattern',
      commands: ['mkdir -p out'],
      retry: true,
    } as const;
    given([], recovererState)
      .when(() => attemptEvents(request, { ...fix, commands: [...fix.commands] }).map((e) => e.type))
      .then(['RecoveryAttempted']);
    given([], recovererState)
      .when(() => attemptEvents(request, giveUp))
      .then([]);
  });

  it('memory: given any events, when it decides when to write, then at least every second', () => {
    given([], memoryState)
      .when(() => historyWrites({ everyEvents: 100, everyMs: 5000 }))
      .then({ everyEvents: 100, everyMs: 1000 });
  });
});

const giveUp = { decision: 'give-up', reason: 'no pattern' } as const;
const request = {
  runId: 'r',
  taskId: '1',
  workdir: '/w',
  commandId: 'c1',
  command: 'make',
  exitCode: 2,
  timedOut: false,
  stdoutTail: '',
  stderrTail: 'boom',
  attempt: 1,
  tried: [],
  llm: 'offline' as const,
};
