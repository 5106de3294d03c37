import { describe, expect, it } from 'vitest';
import { childIds, eventIds, strategyIds, workIds } from '../../src/events/ids.ts';

/** Ids are stored in logs, snapshots and statistics: their formats are pinned, and what is parsed comes back whole. */
describe('ids', () => {
  it('keeps the stored formats of event and work-item ids', () => {
    expect(eventIds.task('r1', '2.1', 'TaskSubmitted')).toBe('r1:2.1:TaskSubmitted');
    expect(eventIds.outcome('r1', '2.1')).toBe('r1:2.1:outcome');
    expect(eventIds.planCreated('r1', '3', 0)).toBe('r1:3:PlanCreated');
    expect(eventIds.planCreated('r1', '3', 2)).toBe('r1:3:PlanCreated:r2');
    expect(eventIds.command({ runId: 'r1', taskId: '3', commandId: 'c2', attempt: 1 }, 'CommandFinished')).toBe(
      'r1:3:c2:1:CommandFinished',
    );
    expect(workIds.execute('r1', '3', 1, 0)).toBe('exec:r1:3:g1');
    expect(workIds.plan('r1', '3', 0, 1)).toBe('plan:r1:3:g0:r1');
  });

  it('parses a child id back to its command, even when the command id holds a colon', () => {
    expect(childIds.parse(childIds.command('c1.fix2.1', 3))).toEqual({ kind: 'command', commandId: 'c1.fix2.1' });
    expect(childIds.parse(childIds.command('odd:id', 0))).toEqual({ kind: 'command', commandId: 'odd:id' });
    expect(childIds.parse(childIds.decision('gate:1'))).toEqual({ kind: 'decision', gateId: 'gate:1' });
  });

  it('names recovery strategies as the statistics key them, and parses them back', () => {
    expect(strategyIds.pattern('mkdir-parent', 'mkdir-p')).toBe('mkdir-parent/mkdir-p');
    expect(strategyIds.benign('mkdir-exists')).toBe('mkdir-exists/benign');
    expect(strategyIds.parse('mkdir-parent/mkdir-p')).toEqual({ patternId: 'mkdir-parent', strategyId: 'mkdir-p' });
    expect(strategyIds.parse('no-slash')).toEqual({ patternId: 'no-slash', strategyId: '' });
  });

  it('gives the same LLM fix the same id (a repeat is a loop) and another fix another id', () => {
    const fix = strategyIds.llm(['mkdir -p out', 'touch out/a']);
    expect(fix).toMatch(/^llm\/[0-9a-f]{12}$/);
    expect(strategyIds.llm(['mkdir -p out', 'touch out/a'])).toBe(fix);
    expect(strategyIds.llm(['mkdir -p out'])).not.toBe(fix);
    expect(strategyIds.isLlm(fix)).toBe(true);
    expect(strategyIds.isLlm(strategyIds.pattern('llm-like', 'x'))).toBe(false);
    expect(strategyIds.parse(fix).patternId).toBe('llm');
  });
});
