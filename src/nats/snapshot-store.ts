import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { SNAPSHOT_BUCKET } from '../events/subjects.ts';
import type { Snapshot, Snapshots } from '../projections/snapshots.ts';

const SnapshotSchema = z.object({ version: z.number().int(), lastSeq: z.number().int().nonnegative(), at: z.string(), state: z.unknown() });

/** Projection snapshots in a JetStream KV bucket: {projection version, last sequence, state}. */
export class SnapshotStore implements Snapshots {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, options: { replicas?: number } = {}): Promise<SnapshotStore> {
    const kv = await new Kvm(nc).create(SNAPSHOT_BUCKET, { history: 1, maxValueSize: 900 * 1024, replicas: options.replicas ?? 1 });
    return new SnapshotStore(kv);
  }

  async load<S>(name: string): Promise<Snapshot<S> | undefined> {
    const entry = await this.kv.get(name);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return decodeJson(SnapshotSchema, `${SNAPSHOT_BUCKET}.${name}`, entry.value) as Snapshot<S>;
  }

  async save<S>(name: string, snapshot: Snapshot<S>): Promise<void> {
    await this.kv.put(name, encodeJson(snapshot));
  }
}
