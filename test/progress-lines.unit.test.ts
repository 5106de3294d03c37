import { describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent, type StoredEvent } from '../src/events/agent-events.ts';
import { progressPrinter } from '../src/cli/progress.ts';
import { explicitPlan } from '../src/plan/explicit-plan.ts';
import { parseTasks } from '../src/tasklist/tasks-parser.ts';

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
});
