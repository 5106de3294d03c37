import { afterAll, beforeAll, describe } from 'vitest';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { busContract } from '../helpers/bus-contract.ts';
import { natsPerSuite } from '../helpers/nats.ts';

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
