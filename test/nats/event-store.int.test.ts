import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { QUEUE_LIMIT } from '../../src/nats/handle-in-order.ts';
import { eventSubjects } from '../../src/events/subjects.ts';
import { connectNats, type NatsConnection } from '../../src/nats/connection.ts';
import { eventLogContract } from '../helpers/event-log-contract.ts';
import { startTestNats } from '../helpers/nats.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let nc: NatsConnection;
let store: EventStore;

beforeAll(async () => {
  server = await startTestNats();
  nc = await connectNats(server.url, 'event-store-test');
  store = await EventStore.open(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const skipped = (runId: string, taskId: string, id?: string) =>
  makeEvent('TaskSkipped', { runId, taskId, ...(id ? { id } : {}) }, { reason: 'test', optional: false });

describe('EventStore (JetStream)', () => {
  eventLogContract(() => store);

  it('reads a long filter (leader gets, then a consumer) with no gap or repeat', async () => {
    const events = Array.from({ length: 300 }, (_, i) => skipped(i % 2 ? 'long-b' : 'long-a', String(i % 7)));
    await store.appendAll(events);
    const expected = events.filter((e) => e.runId === 'long-a').map((e) => e.id);
    const read = await store.readRun('long-a');
    expect(read.map((e) => e.id)).toEqual(expected);
    const tail = await store.read({ subject: eventSubjects.run('long-a'), fromSeq: read[100]!.seq });
    expect(tail.map((e) => e.id)).toEqual(expected.slice(100));
    let visited = 0;
    const last = await store.scan({ subject: eventSubjects.run('long-a') }, () => visited++);
    expect({ visited, last }).toEqual({ visited: 150, last: read.at(-1)!.seq });
  });

  it('reads a sparse filter one event at a time and a dense one through a consumer at once', async () => {
    // One task's 12 events among 50 tasks' 600: read with no consumer. A run's 600: a consumer.
    await store.appendAll(Array.from({ length: 600 }, (_, i) => skipped('sparse', String(i % 50))));
    const created: string[] = [];
    let gets = 0;
    const watching = [
      nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.CREATED.AGENT_EVENTS.>', {
        callback: (_, m) => void created.push(m.subject),
      }),
      nc.subscribe('$JS.API.STREAM.MSG.GET.AGENT_EVENTS', { callback: () => void gets++ }),
    ];
    await nc.flush();
    const task = await store.read({ subject: eventSubjects.task('sparse', '7') });
    expect(task.length).toBe(12);
    await nc.flush();
    expect(created).toEqual([]);
    // One get per event, and one for the bound.
    expect(gets).toBe(13);
    gets = 0;
    const run = await store.readRun('sparse');
    expect(run.length).toBe(600);
    await expect.poll(() => created.length).toBe(1);
    // The density is plain after four gets (and the bound): no 64 one at a time first.
    expect(gets).toBe(5);
    for (const s of watching) s.unsubscribe();
  });

  it('hands a slow async handler a long backlog in order, pausing its consumer rather than queueing it all', async () => {
    const total = QUEUE_LIMIT * 2 + 500;
    for (let i = 0; i < total; i += 500)
      await store.appendAll(Array.from({ length: 500 }, (_, k) => skipped('backlog', String((i + k) % 9))));
    const expected = (await store.readRun('backlog')).map((e) => e.seq);
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    const sub = await store.follow({ subject: eventSubjects.run('backlog'), from: 'start' }, async (e) => {
      most = Math.max(most, ++running);
      // Every tenth event waits for the event loop: the backlog arrives faster than it is handled.
      if (seen.length % 10 === 0) await new Promise((r) => setImmediate(r));
      seen.push(e.seq);
      running--;
    });
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(total);
    await sub.stop();
    expect(seen).toEqual(expected);
    expect(most).toBe(1);
  });

  it('leaves no consumer behind, even when a follow is stopped as it starts', async () => {
    const count = async () => (await store.jsm.streams.info('AGENT_EVENTS')).state.consumer_count;
    const before = await count();
    for (let i = 0; i < 5; i++) await (await store.follow({ from: 'start' }, () => {})).stop();
    const seen: StoredEvent[] = [];
    const sub = await store.follow({ subject: eventSubjects.run('released') }, (e) => {
      seen.push(e);
    });
    await store.append(skipped('released', '1'));
    await expect.poll(() => seen.length).toBe(1);
    await sub.stop();
    await store.read();
    await expect.poll(count, { timeout: 5_000 }).toBe(before);
  });
});
