import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/agent-events.ts';
import { MemoryEventLog } from '../../src/events/memory-event-log.ts';
import { subjectMatches } from '../../src/events/event-log.ts';
import { MemorySnapshots } from '../../src/projections/snapshots.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { runProjection } from '../../src/projections/runner.ts';
import { eventLogContract } from '../helpers/event-log-contract.ts';

describe('MemoryEventLog', () => {
  const log = new MemoryEventLog();
  eventLogContract(() => log);
});

describe('subjects', () => {
  it('match as NATS matches them', () => {
    expect(subjectMatches('agent.events.>', 'agent.events.r.1.TaskSkipped')).toBe(true);
    expect(subjectMatches('agent.events.r.*.TaskSkipped', 'agent.events.r.1.TaskSkipped')).toBe(true);
    expect(subjectMatches('agent.events.r.*', 'agent.events.r.1.TaskSkipped')).toBe(false);
    expect(subjectMatches('agent.events.r.>', 'agent.events.r')).toBe(false);
    expect(subjectMatches('agent.events.x.>', 'agent.events.r.1.TaskSkipped')).toBe(false);
  });
});

describe('projection runner, without a server', () => {
  const counting = (folded: number[]): Projection<{ count: number }> => ({
    name: 'counting',
    version: 1,
    initialState: () => ({ count: 0 }),
    evolve: (s, e) => {
      folded.push(e.seq);
      return { count: s.count + 1 };
    },
  });
  const skipped = (i: number) =>
    makeEvent('TaskSkipped', { runId: 'p', taskId: String(i) }, { reason: 'x', optional: false });

  it('folds the log, snapshots on stop, and a restart folds only what came after', async () => {
    const log = new MemoryEventLog();
    const snapshots = new MemorySnapshots();
    await log.appendAll(Array.from({ length: 10 }, (_, i) => skipped(i)));
    const first = await runProjection(log, snapshots, counting([]), { everyEvents: 1000, everyMs: 60_000 });
    await first.caughtUp();
    await log.append(skipped(10));
    await expect.poll(() => first.state().count).toBe(11);
    await first.stop();
    await log.appendAll([skipped(11), skipped(12)]);
    const folded: number[] = [];
    const second = await runProjection(log, snapshots, counting(folded), { everyEvents: 1000, everyMs: 60_000 });
    await second.caughtUp();
    expect(second.state().count).toBe(13);
    expect(folded).toEqual([12, 13]);
    await second.stop();
  });
});
