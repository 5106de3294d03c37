import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_SNAPSHOT_BUCKET } from '../../src/events/subjects.ts';
import { connectNats, type NatsConnection } from '../../src/nats/connection.ts';
import { SnapshotStore } from '../../src/nats/snapshot-store.ts';
import { startTestNats } from '../helpers/nats.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startTestNats();
  nc = await connectNats(server.url, 'snapshots');
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** A state the size of a long run's status: more than NATS carries in one message (1 MB here). */
const large = (tag: string) => ({
  tasks: Object.fromEntries(
    Array.from({ length: 3000 }, (_, i) => [`${i}`, { title: `task ${i} ${tag}`, plan: 'x'.repeat(400) }]),
  ),
});

describe('snapshots larger than a KV value', () => {
  it('are kept in the object store behind a pointer, read back whole, and the superseded object is removed', async () => {
    const store = await SnapshotStore.open(nc);
    await store.save('run-status.big', { version: 1, lastSeq: 10, at: 'now', state: large('a') });
    expect(await store.load('run-status.big')).toEqual({ version: 1, lastSeq: 10, at: 'now', state: large('a') });
    await store.save('run-status.big', { version: 1, lastSeq: 20, at: 'later', state: large('b') });
    expect((await store.load<ReturnType<typeof large>>('run-status.big'))?.state.tasks['7']?.title).toBe('task 7 b');
    const objects = await new Objm(nc).open(LARGE_SNAPSHOT_BUCKET);
    const names = async () => (await objects.list()).filter((o) => !o.deleted).map((o) => o.name);
    expect(await names()).toEqual(['run-status.big@20']);
    // Small again: back in the KV value, and no object left behind.
    await store.save('run-status.big', { version: 1, lastSeq: 30, at: 'end', state: { tasks: {} } });
    expect(await store.load('run-status.big')).toEqual({ version: 1, lastSeq: 30, at: 'end', state: { tasks: {} } });
    expect(await names()).toEqual([]);
  });
});
