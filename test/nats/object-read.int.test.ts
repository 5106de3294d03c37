import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.ts';
import { CONTENT_BUCKET, LARGE_SNAPSHOT_BUCKET, OUTPUT_BUCKET } from '../../src/events/subjects.ts';
import { connectNats, type NatsConnection } from '../../src/nats/connection.ts';
import { jsManager } from '../../src/nats/jetstream-domain.ts';
import { startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';
import { NatsContents, NatsOutputs } from '../../src/nats/nats-requests.ts';
import { readObject } from '../../src/nats/object-read.ts';
import { SnapshotStore } from '../../src/nats/snapshot-store.ts';
import { tempDirs } from '../helpers/sites.ts';

/**
 * Every object the tool reads is read by direct gets (src/nats/object-read.ts), never through the
 * library's read consumer, which a lost node can stall. The server here lets this user make no
 * consumer at all: a read that needs one is refused, so each read below shows it needs none.
 */
const temp = tempDirs();
let server: LocalNats;
let nc: NatsConnection;
beforeAll(async () => {
  const dir = await temp.make('ia-object-read-');
  const configFile = join(dir, 'nats.conf');
  const noConsumers = '["$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"]';
  await writeFile(
    configFile,
    `jetstream { max_memory_store: 64MB, max_file_store: 256MB }
max_payload: 1MB
authorization { users: [
  { user: direct, password: direct, permissions: { publish: { allow: [">"], deny: ${noConsumers} }, subscribe: ">" } }
] }
`,
  );
  server = await startLocalNats({ configFile, storeDir: join(dir, 'store') });
  nc = await connectNats(server.url, 'object reads', { kind: 'user', user: 'direct', pass: 'direct' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
  await temp.cleanup();
});

/** How many chunks the bucket's object `name` was stored in. */
const chunksOf = async (bucket: string, name: string) => (await (await new Objm(nc).open(bucket)).info(name))?.chunks;

describe('object reads by direct gets', () => {
  it("the library's read needs a consumer, which this user may not make", async () => {
    const outputs = new NatsOutputs(nc, 1);
    await outputs.put('probe', 'x'.repeat(1000));
    const os = await new Objm(nc).open(OUTPUT_BUCKET);
    await expect(os.getBlob('probe')).rejects.toThrow(/Permissions Violation|permission/i);
  });

  it('a content of several chunks is read back whole; one not stored is undefined', async () => {
    const contents = new NatsContents(nc, 1);
    const bytes = new Uint8Array(randomBytes(300 * 1024));
    const hash = createHash('sha256').update(bytes).digest('hex');
    await contents.put(hash, bytes);
    expect(await chunksOf(CONTENT_BUCKET, hash)).toBeGreaterThan(1);
    expect(await contents.get(hash)).toEqual(bytes);
    expect(await contents.get('0'.repeat(64))).toBeUndefined();
  });

  it("a command's full output of several chunks is read back whole", async () => {
    const output = Array.from({ length: 6000 }, (_, i) => `line ${i} ${'y'.repeat(60)}`).join('\n');
    const ref = await new NatsOutputs(nc, 1).put('run-1.task-1.cmd-1', output);
    const name = ref.slice(`${OUTPUT_BUCKET}/`.length);
    expect(await chunksOf(OUTPUT_BUCKET, name)).toBeGreaterThan(1);
    const os = await new Objm(nc).open(OUTPUT_BUCKET);
    const read = await readObject(await jsManager(nc), os, OUTPUT_BUCKET, name);
    expect(new TextDecoder().decode(read)).toBe(output);
  });

  it('a snapshot larger than a KV value is loaded whole from its chunks', async () => {
    const state = { tasks: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`${i}`, 'p'.repeat(400)])) };
    const store = await SnapshotStore.open(nc);
    await store.save('run-status.big', { version: 1, lastSeq: 5, at: 'now', state });
    expect(await chunksOf(LARGE_SNAPSHOT_BUCKET, 'run-status.big@5')).toBeGreaterThan(1);
    expect(await store.load('run-status.big')).toEqual({ version: 1, lastSeq: 5, at: 'now', state });
  });

  it("chunks that are not what the entry's digest says are refused, naming the object", async () => {
    const os = await new Objm(nc).create('ia_test_digest');
    await os.putBlob({ name: 'a' }, new Uint8Array(randomBytes(200 * 1024)));
    const other = await os.putBlob({ name: 'b' }, new Uint8Array(randomBytes(200 * 1024)));
    // The entry of `a` now names b's digest: its own chunks no longer match it.
    const meta = await (
      await jsManager(nc)
    ).streams.getMessage('OBJ_ia_test_digest', {
      last_by_subj: '$O.ia_test_digest.M.YQ==', // the name `a` in padded base64url
    });
    const entry = { ...meta!.json<Record<string, unknown>>(), digest: other.digest };
    await nc.request(meta!.subject, JSON.stringify(entry), { timeout: 5_000 });
    const read = readObject(await jsManager(nc), os, 'ia_test_digest', 'a');
    await expect(read).rejects.toThrow(DecodeError);
    await expect(read).rejects.toThrow(/ia_test_digest\/a: its chunks have the digest SHA-256=\S+, not the /);
  });
});
