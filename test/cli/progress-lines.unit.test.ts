import { describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { progressPrinter } from '../../src/cli/progress.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

const task = parseTasks('- [ ] 1. Build it\n  ```bash\n  make\n  ```\n')[0]!;
let seq = 0;
const stored = (e: AgentEvent): StoredEvent => ({ ...e, seq: ++seq });

describe('progress lines', () => {
  it('says a task started when its first command starts, not when it was planned (ahead)', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const ids = { runId: 'r1', taskId: '1' };
    print(stored(makeEvent('TaskSubmitted', ids, { task })));
    print(
      stored(
        makeEvent('PlanCreated', ids, {
          source: 'explicit',
          taskKey: 'k',
          contextChecksum: 'c',
          specChecksum: 's',
          taskText: 'build it',
          plan: explicitPlan(task),
          durationMs: 0,
          inputs: [],
          revision: 0,
        }),
      ),
    );
    expect(lines).toEqual([]);
    const started = makeEvent('CommandStarted', ids, { commandId: 'c1', command: 'make', attempt: 0, purpose: 'plan' });
    print(stored(started));
    print(stored({ ...started, id: 'again', data: { ...started.data, commandId: 'c2' } }));
    expect(lines).toEqual(['▶ 1. Build it (1 command(s), explicit plan)']);
  });

  it('says in its last line how many tasks completed unverified, and does not show a parent done before its subtasks', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const [parent, child] = parseTasks('- [ ] 1. Parent\n  ```bash\n  true\n  ```\n  - [ ] 1.1 Child\n');
    for (const t of [parent!, child!])
      print(stored(makeEvent('TaskSubmitted', { runId: 'r2', taskId: t.id }, { task: t })));
    print(
      stored(makeEvent('TaskCompleted', { runId: 'r2', taskId: '1' }, { durationMs: 10, commands: 1, recoveries: 0 })),
    );
    const none = { durationMs: 10, commands: 1, recoveries: 1, evidence: 'none' as const };
    print(stored(makeEvent('TaskCompleted', { runId: 'r2', taskId: '1.1' }, none)));
    print(
      stored(
        makeEvent(
          'RunFinished',
          { runId: 'r2' },
          { status: 'unverified', completed: [], unverified: ['1', '1.1'], failed: [], skipped: [], durationMs: 30 },
        ),
      ),
    );
    expect(lines[0]).toBe('✓ 1. Parent its own commands; its subtasks next 0.01s');
    expect(lines[1]).toMatch(/^\? 1\.1\. Child completed, unverified: a fix replaced a failed command/);
    expect(lines[2]).toBe('run unverified: 0 completed, 2 unverified, 0 failed, 0 skipped in 0.03s');
  });

  it('says a task that met a conflict runs again, on which paths, with whom, and which run of how many', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const ids = { runId: 'r3', taskId: '1' };
    print(stored(makeEvent('TaskSubmitted', ids, { task })));
    const conflicts = [
      { path: 'a.txt', by: 'task 2' },
      { path: 'b.txt', by: 'not a task' },
    ];
    print(
      stored(
        makeEvent('TaskRolledBack', ids, {
          restored: [],
          kept: [],
          discarded: true,
          rerun: { attempt: 1, of: 2, conflicts },
        }),
      ),
    );
    expect(lines).toEqual([
      '  ↻ 1. Build it: conflict on a.txt with task 2, b.txt with a change not made by a task, running again (1 of 2)',
    ]);
  });
});
