import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendConflictError } from '../src/errors.ts';
import { makeEvent, type StoredEvent } from '../src/events/agent-events.ts';
import { EventStore } from '../src/nats/event-store.ts';
import { eventSubjects } from '../src/events/subjects.ts';
import { connectNats, type NatsConnection } from '../src/nats/connection.ts';
import { startTestNats } from './helpers/nats.ts';

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

describe('EventStore', () => {
  it('stores an event published twice with the same id once', async () => {
    const event = skipped('dedup', '1', 'same-id');
    const first = await store.append(event);
    const second = await store.append(event);
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    expect(await store.readRun('dedup')).toHaveLength(1);
  });

  it('raises the typed conflict when the expected last subject sequence does not hold', async () => {
    const subject = eventSubjects.of('occ', '1', 'TaskSkipped');
    expect(await store.lastSubjectSequence(subject)).toBe(0);
    const first = await store.append(skipped('occ', '1'), { expectedLastSubjectSequence: 0 });
    await store.append(skipped('occ', '1'), { expectedLastSubjectSequence: first.seq });
    const stale = store.append(skipped('occ', '1'), { expectedLastSubjectSequence: first.seq });
    await expect(stale).rejects.toBeInstanceOf(AppendConflictError);
    await expect(stale).rejects.toMatchObject({ subject, expectedLastSequence: first.seq });
    expect(await store.lastSubjectSequence(subject)).toBe(first.seq + 1);
  });

  it('reads a run in order, by task and type, and follows new events live', async () => {
    const events = Array.from({ length: 50 }, (_, i) => skipped('ordered', String(i % 5)));
    await store.appendAll(events);
    const read = await store.readRun('ordered');
    expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(read.map((e) => e.seq)).toEqual([...read.map((e) => e.seq)].sort((a, b) => a - b));
    expect(await store.read({ subject: eventSubjects.task('ordered', '3') })).toHaveLength(10);
    expect(await store.read({ subject: eventSubjects.run('nothing-here') })).toEqual([]);

    const seen: StoredEvent[] = [];
    const sub = await store.follow({ subject: eventSubjects.run('live') }, (e) => {
      seen.push(e);
    });
    await store.append(skipped('live', '1'));
    await store.append(skipped('other', '1'));
    await expect.poll(() => seen.length).toBe(1);
    await sub.stop();
    expect(seen[0]!.runId).toBe('live');

    const fromMiddle = await store.read({ subject: eventSubjects.run('ordered'), fromSeq: read[40]!.seq });
    expect(fromMiddle.map((e) => e.id)).toEqual(events.slice(40).map((e) => e.id));
  });

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

  it('refuses an event that does not match its schema before it reaches the stream', async () => {
    const bad = { ...skipped('bad', '1'), data: { reason: 42 } } as unknown as Parameters<EventStore['append']>[0];
    await expect(store.append(bad)).rejects.toThrow();
    expect(await store.readRun('bad')).toEqual([]);
  });
});
