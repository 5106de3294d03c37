import { describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { renderReport, stretchedAxis, summarize } from '../../src/report/render-report.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

const runId = 'rreport';
const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);
const specs = parseTasks(
  '- [ ] 1. Build the bundle\n  ```bash\n  sleep 10\n  ```\n- [ ] 2. Touch a stamp\n  ```bash\n  touch s\n  ```\n- [ ] 3. Write the docs\n',
  'tasks.md',
);

function command(
  taskId: string,
  commandId: string,
  startMs: number,
  durationMs: number,
  exitCode = 0,
  purpose: 'plan' | 'check' = 'plan',
): AgentEvent {
  return makeEvent(
    'CommandFinished',
    { runId, taskId, at: at(startMs + durationMs) },
    {
      commandId,
      command: `cmd ${commandId}`,
      attempt: 0,
      purpose,
      exitCode,
      signal: null,
      timedOut: false,
      durationMs,
      startedAt: at(startMs).toISOString(),
      stdoutTail: '',
      stderrTail: exitCode ? 'boom: it broke\nnpm error A complete log of this run can be found in: x.log\n' : '',
      truncated: false,
      redacted: [],
    },
  );
}

function failedRun(): StoredEvent[] {
  const events: AgentEvent[] = [
    makeEvent(
      'RunStarted',
      { runId, at: at(0) },
      {
        tasksFile: 'tasks.md',
        workdir: '/w',
        taskIds: ['1', '2', '3'],
        alreadyDone: [],
        options: {
          taskConcurrency: 3,
          commandConcurrency: 3,
          continuePolicy: 'always',
          llm: 'offline',
          planAhead: 4,
          skipOptional: false,
        },
      },
    ),
    ...specs.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id, at: at(0) }, { task })),
    makeEvent('TaskFailed', { runId, taskId: '3', at: at(40) }, { stage: 'planning', reason: 'the LLM is offline' }),
    command('1', 'c1', 100, 10_000),
    command('2', 'c1', 150, 50),
    command('2', 'check1', 210, 30, 1, 'check'),
    makeEvent(
      'TaskFailed',
      { runId, taskId: '2', at: at(250) },
      { stage: 'verification', reason: 'success check `test -f s2` failed' },
    ),
    makeEvent(
      'TaskCompleted',
      { runId, taskId: '1', at: at(10_100) },
      { durationMs: 10_000, commands: 1, recoveries: 0 },
    ),
    makeEvent(
      'RunFinished',
      { runId, at: at(10_200) },
      { status: 'failed', completed: ['1'], failed: ['2', '3'], skipped: [], durationMs: 10_200 },
    ),
  ];
  return events.map((e, i) => ({ ...e, seq: i + 1 }));
}

describe('the run report', () => {
  it('puts the status and totals first, titles on rows, and a red row for every failed task', () => {
    const page = renderReport(failedRun());
    expect(page).toMatch(
      /<p id="status"><span class="status" style="color:#b91c1c">failed<\/span>: 1 of 3 task\(s\) completed, 2 failed, 0 skipped, in 10.20 s<\/p>/,
    );
    expect(page).toContain('<li><b>3. Write the docs</b> (planning): the LLM is offline</li>');
    expect(page).toContain('<li><b>2. Touch a stamp</b> (verification): success check `test -f s2` failed</li>');
    expect(page).toMatch(/>1\. Build the bundle · c1</);
    expect([...page.matchAll(/<text class="lane failed"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual([
      '2. Touch a stamp · failed',
      '3. Write the docs · failed',
    ]);
    // The failed check's bar says why, with the meaningful line and not npm's footer.
    expect(page).toMatch(/cmd check1 \(exit 1, 30 ms\): boom: it broke/);
  });

  it('splits the wall time into shares that add up to it, and has one legend entry per kind shown', () => {
    const { summary } = summarize(failedRun());
    const shares = summary.executionMs + summary.recoveryMs + summary.planningMs + summary.waitingMs;
    expect(shares).toBeCloseTo(summary.wallMs, 5);
    const page = renderReport(failedRun());
    const legend = /<p class="legend">(.*?)<\/p>/.exec(page)![1]!;
    expect([...legend.matchAll(/<\/i>([^<]+)<\/span>/g)].map((m) => m[1])).toEqual(['command', 'failed']);
    expect(legend).not.toContain('planning');
  });

  it('names the site a task ran at in its lanes', () => {
    const routed = makeEvent(
      'TaskRouted',
      { runId, taskId: '2', at: at(5) },
      { site: 'east', attempt: 0, reason: 'least loaded' },
    );
    const { bars } = summarize([...failedRun(), { ...routed, seq: 1000 }]);
    const lanes = new Set(bars.map((b) => b.lane.split(' · ')[0]!));
    expect([...lanes].filter((l) => l.endsWith(' @ east'))).toHaveLength(1);
    expect(bars.filter((b) => b.task === '2').every((b) => b.lane.includes(' @ east'))).toBe(true);
    expect(bars.filter((b) => b.task !== '2').some((b) => b.lane.includes(' @ '))).toBe(false);
  });

  it('keeps a 50 ms command visible next to a 10 s one', () => {
    const { bars, start, end } = summarize(failedRun());
    const axis = stretchedAxis(
      bars.flatMap((b) => [b.start, b.end]),
      start,
      end,
      840,
    );
    const short = bars.find((b) => b.task === '2' && b.kind === 'plan')!;
    expect(axis(short.end) - axis(short.start)).toBeGreaterThanOrEqual(6);
    // Linear, it would be 50 / 10200 of 840 px: 4 px.
    expect((50 / 10_200) * 840).toBeLessThan(5);
    const xs = [start, ...bars.map((b) => b.start), end].sort((a, b) => a - b).map(axis);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(axis(start)).toBe(0);
    expect(axis(end)).toBe(840);
  });
});
