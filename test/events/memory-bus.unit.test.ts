import { describe } from 'vitest';
import { MemoryRequests, MemoryWorkQueue } from '../../src/events/memory-bus.ts';
import { busContract } from '../helpers/bus-contract.ts';

describe('the bus in memory', () => {
  const bus = { work: new MemoryWorkQueue(), requests: new MemoryRequests() };
  busContract(() => bus);
});
