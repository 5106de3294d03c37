import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsRuntime } from '../../src/host/runtime.ts';
import { makeEvent } from '../../src/events/agent-events.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { runProjection } from '../../src/projections/runner.ts';
import { startTestNats } from '../helpers/nats.ts';
import { testRuntime } from '../helpers/runtime.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let rt: NatsRuntime;
beforeAll(async () => {
  server = await startTestNats();
  rt = await testRuntime(server.url);
});
afterAll(async () => {
  await rt?.nc.close();
  await server?.stop();
});

/**
 * Counts the events in its state; `folded` receives the sequences this instance itself folded,
 * which is what tells a start from the snapshot (the tail only) from a replay of the whole log.
 */
const counting = (version: number, folded: number[] = []): Projection<{ count: number; seqs: number[] }> => ({
  name: 'counting',
  version,
  initialState: () => ({ count: 0, seqs: [] }),
  evolve: (s, e) => {
    folded.push(e.seq);
    return { count: s.count + 1, seqs: [...s.seqs, e.seq] };
  },
});
const skipped = (i: number) =>
  makeEvent('TaskSkipped', { runId: 'proj', taskId: String(i) }, { reason: 'x', optional: false });
const options = { everyEvents: 1000, everyMs: 60_000 };

describe('projection runner', () => {
  it('starts from its snapshot, replays only the tail, follows live, and rebuilds when its version changes', async () => {
    await rt.store.appendAll(Array.from({ length: 30 }, (_, i) => skipped(i)));
    const first = await runProjection(rt.store, rt.snapshots, counting(1), options);
    await first.caughtUp();
    expect(first.state().count).toBe(30);
    await first.stop();

    await rt.store.appendAll(Array.from({ length: 5 }, (_, i) => skipped(100 + i)));
    const foldedBySecond: number[] = [];
    const second = await runProjection(rt.store, rt.snapshots, counting(1, foldedBySecond), options);
    await second.caughtUp();
    expect(second.state().count).toBe(35);
    // Only the five events after the snapshot were folded by this instance.
    expect(foldedBySecond).toEqual([31, 32, 33, 34, 35]);
    await rt.store.append(skipped(200));
    await expect.poll(() => second.state().count).toBe(36);
    await second.stop();

    const foldedByUpgraded: number[] = [];
    const upgraded = await runProjection(rt.store, rt.snapshots, counting(2, foldedByUpgraded), options);
    await upgraded.caughtUp();
    // A new version ignores the old snapshot: the whole log is folded again.
    expect(foldedByUpgraded).toHaveLength(36);
    expect(upgraded.state().count).toBe(36);
    await upgraded.stop();
  });
});
