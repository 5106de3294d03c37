import { expect, it } from 'vitest';
import * as z from 'zod';
import { ack, retry, type Requests, type WorkQueue } from '../../src/events/bus.ts';
import { DecodeError } from '../../src/errors.ts';
import { isTransient } from '../../src/nats/transient.ts';

const Item = z.object({ n: z.number() });

/** A promise resolved by the test's own handler when it has seen what it waits for: waits on events, not on the clock. */
function signal(): { done: Promise<void>; fire: () => void } {
  let fire: () => void = () => {};
  const done = new Promise<void>((r) => (fire = r));
  return { done, fire };
}

/**
 * The work queue's and the requests' contract (src/events/bus.ts) as tests: run inside a
 * describe block against the NATS implementation and the in-memory one alike. Each test takes
 * every item it queues, so they share one queue in order. Each waits on what its handlers see,
 * never on the clock: an item a stopped taker did not finish comes back after JetStream's ack wait,
 * at once in memory, and the test's own timeout is the only bound.
 */
export function busContract(bus: () => { work: WorkQueue; requests: Requests }) {
  it('delivers an item once however often it is queued under one id, each to one of the takers', async () => {
    const seen: number[] = [];
    const take = () =>
      bus().work.consume(
        'executor',
        Item,
        1,
        async (item) => (seen.push(item.n), ack()),
        () => {},
      );
    const takers = [await take(), await take()];
    for (const n of [1, 2, 3, 4]) await bus().work.publish('executor', 'execute', { n }, `contract-once-${n}`);
    await bus().work.publish('executor', 'execute', { n: 1 }, 'contract-once-1');
    await expect.poll(() => seen.length).toBe(4);
    await new Promise((r) => setTimeout(r, 300));
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    await Promise.all(takers.map((t) => t.stop()));
  });

  it('delivers again, flagged as redelivered, an item whose handler threw or asked for a retry', async () => {
    const deliveries: { n: number; redelivered: boolean }[] = [];
    const errors: unknown[] = [];
    const fourth = signal();
    const taker = await bus().work.consume(
      'executor',
      Item,
      2,
      async (item, info) => {
        deliveries.push({ n: item.n, redelivered: info.redelivered });
        if (deliveries.length === 4) fourth.fire();
        const first = deliveries.filter((d) => d.n === item.n).length === 1;
        if (first && item.n === 1) throw new Error('handler failed');
        return first ? retry(0) : ack();
      },
      (error) => errors.push(error),
    );
    await bus().work.publish('executor', 'execute', { n: 1 }, 'contract-again-1');
    await bus().work.publish('executor', 'execute', { n: 2 }, 'contract-again-2');
    // The redelivery of a failed item waits a second (as JetStream's nak delay): bounded by the test's timeout, not a poll's.
    await fourth.done;
    expect(
      deliveries
        .filter((d) => d.redelivered)
        .map((d) => d.n)
        .sort(),
    ).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    await taker.stop();
  });

  it('drops an item that does not match its schema, says so, and goes on with the next', async () => {
    const seen: number[] = [];
    const errors: unknown[] = [];
    const taker = await bus().work.consume(
      'executor',
      Item,
      1,
      async (item) => (seen.push(item.n), ack()),
      (error) => errors.push(error),
    );
    await bus().work.publish('executor', 'execute', { n: 'not a number' }, 'contract-bad');
    await bus().work.publish('executor', 'execute', { n: 7 }, 'contract-after-bad');
    await expect.poll(() => seen).toEqual([7]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    await taker.stop();
  });

  it('hands the item of a stopped taker, unfinished, to the next taker', async () => {
    const taken = signal();
    const first = await bus().work.consume(
      'executor',
      Item,
      1,
      async (_item, info) => {
        taken.fire();
        await new Promise((r) => info.signal.addEventListener('abort', r, { once: true }));
        return retry(0);
      },
      () => {},
    );
    await bus().work.publish('executor', 'execute', { n: 9 }, 'contract-handback');
    await taken.done;
    await first.stop(50);
    const seen: { n: number; redelivered: boolean }[] = [];
    const handedBack = signal();
    const next = await bus().work.consume(
      'executor',
      Item,
      1,
      async (item, info) => {
        seen.push({ n: item.n, redelivered: info.redelivered });
        handedBack.fire();
        return ack();
      },
      () => {},
    );
    await handedBack.done;
    expect(seen).toEqual([{ n: 9, redelivered: true }]);
    await next.stop();
  });

  it('answers a request from one server of a queue group, and from any server outside one', async () => {
    const answered: string[] = [];
    const server = (name: string, queue?: string) =>
      bus().requests.serve(
        'contract.req',
        { schema: Item, ...(queue ? { queue } : {}), onError: () => ({ error: true }) },
        async (req) => {
          answered.push(name);
          return { doubled: req.n * 2, by: name };
        },
      );
    const servers = [server('a', 'q'), server('b', 'q')];
    await new Promise((r) => setTimeout(r, 100));
    const replies = await Promise.all(
      [1, 2, 3, 4].map((n) => bus().requests.request('contract.req', { n }, z.object({ doubled: z.number() }), 2000)),
    );
    expect(replies.map((r) => r.doubled)).toEqual([2, 4, 6, 8]);
    expect(answered).toHaveLength(4);
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('answers a request that fails with the server error reply, and a request nobody serves with a transient error', async () => {
    const server = bus().requests.serve(
      'contract.fail',
      { schema: Item, onError: (e) => ({ error: (e as Error).message }) },
      async () => {
        throw new Error('broken handler');
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    const Reply = z.object({ error: z.string() });
    expect(await bus().requests.request('contract.fail', { n: 1 }, Reply, 2000)).toEqual({ error: 'broken handler' });
    expect((await bus().requests.request('contract.fail', { bad: true }, Reply, 2000)).error).toMatch(
      /contract\.fail: n/,
    );
    await server.stop();
    const unanswered = await bus()
      .requests.request('contract.nobody', {}, Reply, 300)
      .catch((e: unknown) => e);
    expect(isTransient(unanswered)).toBe(true);
  });
}
