import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/actors/coordinator/decide.ts';
import { startEffects } from '../../../src/actors/coordinator/effects.ts';
import type { AgentEvent } from '../../../src/events/agent-events.ts';
import { evolveRunStatus, initialRunStatus } from '../../../src/projections/run-status.ts';
import { parseTaskList } from '../../../src/tasklist/tasks-parser.ts';

const N = 100_000;

/** Task i depends on task i+1: the walk from task 1 is N deep (a recursive one overflowed at about 12,000). */
function chain(n: number, cycle = false): string {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    lines.push(`- [ ] ${i}. Step ${i}`);
    // The last task depends on nothing (without a Depends: it would follow its previous sibling).
    lines.push(`  - Depends: ${i < n ? i + 1 : cycle ? 1 : 'none'}`);
    lines.push('  ```bash', '  true', '  ```');
  }
  return `${lines.join('\n')}\n`;
}

describe(`a ${N.toLocaleString('en')}-task Depends: chain`, () => {
  it('parses, starts and gets its first decision: the last task, the only one ready', () => {
    const { tasks } = parseTaskList(chain(N));
    expect(tasks).toHaveLength(N);
    const start = { runId: 'chain', tasksFile: 't.md', workdir: '/w', tasks, options: OPTIONS };
    const [effect] = startEffects(start);
    const events = effect?.kind === 'append' ? effect.events : [];
    const status = events.reduce(
      (s, e: AgentEvent, i) => evolveRunStatus(s, { ...e, seq: i + 1 }),
      initialRunStatus('chain'),
    );
    expect(status.order).toHaveLength(N);
    expect(decide(status, new Set()).map((d) => `${d.kind}:${'taskId' in d ? d.taskId : ''}`)).toEqual([`plan:${N}`]);
  }, 120_000);

  it('finds a cycle through all of it, named from where it closes', () => {
    expect(() => parseTaskList(chain(N, true))).toThrow(/dependency cycle: 1 -> 2 -> 3 -> .* -> 100000 -> 1$/);
  }, 120_000);
});

const OPTIONS = {
  taskConcurrency: 3,
  commandConcurrency: 3,
  continuePolicy: 'dependencies-successful' as const,
  llm: 'offline' as const,
  planAhead: 0,
  skipOptional: false,
};
