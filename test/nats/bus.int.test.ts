import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { busContract } from '../helpers/bus-contract.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { contentHash } from '../../src/workspace/work-tree.ts';

const server = natsPerSuite();
const ACK_WAIT_MS = 1000;
let rt: NatsRuntime;
beforeAll(async () => {
  // A short ack wait, so that an item a stopped taker left is redelivered within the test.
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags: { workAckWaitMs: ACK_WAIT_MS }, env: {} });
  rt = await openRuntime(server.url, config, 'bus-test', { info: () => {}, warn: () => {}, error: () => {} });
});
afterAll(async () => {
  await rt?.close();
});

describe('the bus on NATS (JetStream work queue, core NATS requests)', () => {
  busContract(() => rt);
});

describe('the content store on NATS (agent_contents)', () => {
  it('gives back each content as it was put, of no, one or several chunks, and nothing for a name never put', async () => {
    // A chunk is 128 KiB: a content of one chunk is read by a get of it, a larger one through a consumer.
    const contents = [Buffer.alloc(0), Buffer.from('one line\n'), randomBytes(128 * 1024), randomBytes(300 * 1024)];
    for (const bytes of contents) await rt.contents.put(contentHash(bytes), bytes);
    for (const bytes of contents) expect(Buffer.from((await rt.contents.get(contentHash(bytes)))!)).toEqual(bytes);
    expect(await rt.contents.get(contentHash(Buffer.from('never put')))).toBeUndefined();
  });
});
