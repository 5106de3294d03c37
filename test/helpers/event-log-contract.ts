import { expect, it } from 'vitest';
import { AppendConflictError } from '../../src/errors.ts';
import { makeEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import type { EventLog } from '../../src/events/event-log.ts';
import { eventSubjects } from '../../src/events/subjects.ts';

const skipped = (runId: string, taskId: string, id?: string) =>
  makeEvent('TaskSkipped', { runId, taskId, ...(id ? { id } : {}) }, { reason: 'test', optional: false });

/**
 * The event log's contract (src/events/event-log.ts) as tests: run inside a describe block
 * against any implementation, the JetStream store and the in-memory one alike.
 */
export function eventLogContract(log: () => EventLog) {
  it('stores an event appended twice with the same id once', async () => {
    const event = skipped('dedup', '1', 'same-id');
    const first = await log().append(event);
    const second = await log().append(event);
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    expect(await log().readRun('dedup')).toHaveLength(1);
  });

  it('raises the typed conflict when the expected last subject sequence does not hold', async () => {
    const subject = eventSubjects.of('occ', '1', 'TaskSkipped');
    expect(await log().lastSubjectSequence(subject)).toBe(0);
    const first = await log().append(skipped('occ', '1'), { expectedLastSubjectSequence: 0 });
    await log().append(skipped('occ', '1'), { expectedLastSubjectSequence: first.seq });
    const stale = log().append(skipped('occ', '1'), { expectedLastSubjectSequence: first.seq });
    await expect(stale).rejects.toBeInstanceOf(AppendConflictError);
    await expect(stale).rejects.toMatchObject({ subject, expectedLastSequence: first.seq });
    expect(await log().lastSubjectSequence(subject)).toBe(first.seq + 1);
  });

  it('gives the last event of a subject, wildcards allowed, and nothing for a subject without events', async () => {
    expect(await log().lastEvent(eventSubjects.task('last', '1'))).toBeUndefined();
    await log().appendAll([
      skipped('last', '1'),
      skipped('last', '2'),
      makeEvent('TaskCompleted', { runId: 'last', taskId: '1' }, { durationMs: 1, commands: 1, recoveries: 0 }),
    ]);
    const last = await log().lastEvent(eventSubjects.task('last', '1'));
    expect(last?.type).toBe('TaskCompleted');
    expect(last?.seq).toBe(await log().lastSubjectSequence(eventSubjects.run('last')));
    expect((await log().lastEvent(eventSubjects.task('last', '2')))?.type).toBe('TaskSkipped');
  });

  it('reads a run in order, by task and type, from a sequence, and follows new events live', async () => {
    const events = Array.from({ length: 50 }, (_, i) => skipped('ordered', String(i % 5)));
    await log().appendAll(events);
    const read = await log().readRun('ordered');
    expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(read.map((e) => e.seq)).toEqual([...read.map((e) => e.seq)].sort((a, b) => a - b));
    expect(await log().read({ subject: eventSubjects.task('ordered', '3') })).toHaveLength(10);
    expect(await log().read({ subject: eventSubjects.run('nothing-here') })).toEqual([]);
    const fromMiddle = await log().read({ subject: eventSubjects.run('ordered'), fromSeq: read[40]!.seq });
    expect(fromMiddle.map((e) => e.id)).toEqual(events.slice(40).map((e) => e.id));

    const seen: StoredEvent[] = [];
    const sub = await log().follow({ subject: eventSubjects.run('live') }, (e) => {
      seen.push(e);
    });
    await log().append(skipped('live', '1'));
    await log().append(skipped('other', '1'));
    await log().append(skipped('live', '2'));
    await expect.poll(() => seen.length).toBe(2);
    await sub.stop();
    expect(seen.map((e) => e.taskId)).toEqual(['1', '2']);
  });

  it('follows from the start or a sequence, replaying what is stored before what comes', async () => {
    const before = await log().appendAll([skipped('replay', '1'), skipped('replay', '2')]);
    const fromStart: string[] = [];
    const all = await log().follow({ subject: eventSubjects.run('replay'), from: 'start' }, (e) => {
      fromStart.push(e.taskId!);
    });
    const fromSecond: string[] = [];
    const tail = await log().follow({ subject: eventSubjects.run('replay'), from: before[1]!.seq }, (e) => {
      fromSecond.push(e.taskId!);
    });
    await log().append(skipped('replay', '3'));
    await expect.poll(() => [fromStart.length, fromSecond.length]).toEqual([3, 2]);
    await all.stop();
    await tail.stop();
    expect(fromStart).toEqual(['1', '2', '3']);
    expect(fromSecond).toEqual(['2', '3']);
  });

  it('scans without holding the events, and says the last sequence and how many there are', async () => {
    const events = Array.from({ length: 120 }, (_, i) => skipped(i % 2 ? 'scan-b' : 'scan-a', String(i % 7)));
    await log().appendAll(events);
    let visited = 0;
    const last = await log().scan({ subject: eventSubjects.run('scan-a') }, () => visited++);
    const read = await log().readRun('scan-a');
    expect({ visited, last }).toEqual({ visited: 60, last: read.at(-1)!.seq });
    const state = await log().state();
    expect(state.lastSeq).toBeGreaterThanOrEqual(read.at(-1)!.seq);
    expect(state.messages).toBeGreaterThanOrEqual(120);
  });

  it('scans up to toSeq and no further, whether it reads one event at a time or the rest at once', async () => {
    await log().appendAll(Array.from({ length: 120 }, (_, i) => skipped(i % 2 ? 'upto-b' : 'upto-a', String(i % 7))));
    const a = await log().readRun('upto-a');
    const seen: number[] = [];
    // 40 of 60 dense events (a read that goes on at once), then 3 of the last 5 (one at a time).
    const last = await log().scan({ subject: eventSubjects.run('upto-a'), toSeq: a[39]!.seq }, (e) => seen.push(e.seq));
    expect({ seen, last }).toEqual({ seen: a.slice(0, 40).map((e) => e.seq), last: a[39]!.seq });
    const tail: number[] = [];
    const options = { subject: eventSubjects.run('upto-a'), fromSeq: a[55]!.seq, toSeq: a[57]!.seq + 1 };
    expect(await log().scan(options, (e) => tail.push(e.seq))).toBe(a[57]!.seq);
    expect(tail).toEqual(a.slice(55, 58).map((e) => e.seq));
  });

  it('refuses an event that does not match its schema before it is stored', async () => {
    const bad = { ...skipped('bad', '1'), data: { reason: 42 } } as unknown as Parameters<EventLog['append']>[0];
    await expect(log().append(bad)).rejects.toThrow();
    expect(await log().readRun('bad')).toEqual([]);
  });
}
