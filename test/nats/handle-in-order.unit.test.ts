import { describe, expect, it } from 'vitest';
import { handleInOrder, QUEUE_LIMIT, type ReadStep } from '../../src/nats/handle-in-order.ts';

type Msg = { seq: number };
const msgs = (from: number, to: number): Msg[] => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i }));

/** A handler and the events it was told, for one read. */
function harness(onMessage: (m: Msg) => ReadStep | Promise<ReadStep>) {
  const told = { handled: [] as number[], full: 0, end: 0 };
  const h = handleInOrder(onMessage, {
    handled: (m) => told.handled.push(m.seq),
    full: () => told.full++,
    end: () => told.end++,
  });
  return { h, told };
}

describe('handleInOrder: the ordered reader hands messages on one at a time', () => {
  it('handles plain-valued messages at once, in order, with nothing left queued', async () => {
    const seen: number[] = [];
    const { h, told } = harness((m) => void seen.push(m.seq));
    for (const m of msgs(1, 5)) h.deliver(m);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(told.handled).toEqual([1, 2, 3, 4, 5]);
    expect(h.busy()).toBe(false);
    await h.drained();
  });

  it('queues what arrives while an async handler is busy, and never runs two at once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const { h, told } = harness(async (m) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setImmediate(r));
      seen.push(m.seq);
      running--;
    });
    for (const m of msgs(1, 50)) h.deliver(m);
    expect(h.busy()).toBe(true);
    await h.drained();
    expect(seen).toEqual(msgs(1, 50).map((m) => m.seq));
    expect(told.handled).toEqual(seen);
    expect(most).toBe(1);
    expect(h.busy()).toBe(false);
  });

  it("ends on 'stop': later messages are dropped, and the end is told once", async () => {
    const seen: number[] = [];
    const { h, told } = harness(async (m) => {
      seen.push(m.seq);
      return m.seq === 3 ? 'stop' : undefined;
    });
    for (const m of msgs(1, 10)) h.deliver(m);
    await h.drained();
    h.deliver({ seq: 11 });
    expect(seen).toEqual([1, 2, 3]);
    expect(told.handled).toEqual([1, 2, 3]);
    expect(told.end).toBe(1);
    expect(h.error()).toBeUndefined();
  });

  it('keeps the failure of a handler (thrown or rejected) and handles nothing after it', async () => {
    for (const fail of [
      (m: Msg) => {
        if (m.seq === 2) throw new Error('bad event 2');
      },
      async (m: Msg) => {
        if (m.seq === 2) throw new Error('bad event 2');
      },
    ]) {
      const { h, told } = harness(fail);
      for (const m of msgs(1, 4)) h.deliver(m);
      await h.drained();
      expect((h.error() as Error).message).toBe('bad event 2');
      expect(told.handled).toEqual([1]);
      expect(told.end).toBe(1);
    }
  });

  it('lets go of handled messages while it is never idle (a busy follower holds a bounded queue)', async () => {
    // Each message arrives while the one before is still being handled: the queue never drains.
    let deliverNext: () => void = () => {};
    const { h } = harness(async () => {
      await new Promise<void>((r) => setImmediate(r));
      deliverNext();
    });
    let sent = 0;
    let most = 0;
    await new Promise<void>((done) => {
      deliverNext = () => {
        most = Math.max(most, h.held());
        if (sent === 5_000) return done();
        h.deliver({ seq: ++sent });
        h.deliver({ seq: ++sent });
      };
      deliverNext();
    });
    await h.drained();
    // Two arrive per one handled: half are waiting at the end; what was handled is not held.
    expect(most).toBeLessThan(2_500 + 300);
    expect(h.held()).toBe(0);
  });

  it('says once when the queue is full, and still hands on every message queued', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const { h, told } = harness(async (m) => {
      if (m.seq === 1) await gate;
      seen.push(m.seq);
    });
    for (const m of msgs(1, QUEUE_LIMIT + 10)) h.deliver(m);
    expect(told.full).toBe(1);
    release();
    await h.drained();
    expect(seen.length).toBe(QUEUE_LIMIT + 10);
    expect(told.handled.at(-1)).toBe(QUEUE_LIMIT + 10);
  });
});
