import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import * as z from 'zod';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { LARGE_SNAPSHOT_BUCKET, SNAPSHOT_BUCKET } from '../events/subjects.ts';
import type { Snapshot, Snapshots } from '../projections/snapshots.ts';
import { jsManager, kvManager, objectManager } from './jetstream-domain.ts';
import { readObject } from './object-read.ts';

const SnapshotSchema = z.object({
  version: z.number().int(),
  lastSeq: z.number().int().nonnegative(),
  at: z.string(),
  state: z.unknown(),
});
/** What the KV holds for a snapshot kept in the object store: where, and for which sequence. */
const PointerSchema = z.object({
  version: z.number().int(),
  lastSeq: z.number().int().nonnegative(),
  at: z.string(),
  object: z.string(),
});
const MAX_VALUE = 900 * 1024;

/**
 * Projection snapshots in a JetStream KV bucket: {projection version, last sequence, state}. A
 * snapshot larger than a KV value may be (the status of a run of a few thousand tasks) goes to an
 * object store under a name of its own sequence, and the KV entry points at it: the pointer is
 * written after the object, so it never names a state other than the one its sequence says.
 */
export class SnapshotStore implements Snapshots {
  private objects?: Promise<ObjectStore>;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly replicas: number,
    private readonly ready: () => Promise<void>,
  ) {}

  /**
   * `bind`: the buckets were made by another connection (the admin's), so no round trip checks
   * them; the large snapshots' bucket is used once `bind.ready` says it exists.
   */
  static async open(
    nc: NatsConnection,
    options: { replicas?: number; bind?: { ready: () => Promise<void> } } = {},
  ): Promise<SnapshotStore> {
    const replicas = options.replicas ?? 1;
    const kvm = kvManager(nc);
    const kv = options.bind
      ? await kvm.open(SNAPSHOT_BUCKET)
      : await kvm.create(SNAPSHOT_BUCKET, { history: 1, maxValueSize: MAX_VALUE, replicas });
    return new SnapshotStore(nc, kv, replicas, options.bind?.ready ?? (() => Promise.resolve()));
  }

  /** Creates the bucket of large snapshots (the admin's part); the roles then find it. */
  async ensureLarge(): Promise<void> {
    await this.store();
  }

  private store(): Promise<ObjectStore> {
    this.objects ??= this.ready().then(() =>
      objectManager(this.nc).create(LARGE_SNAPSHOT_BUCKET, { replicas: this.replicas }),
    );
    return this.objects;
  }

  async load<S>(name: string): Promise<Snapshot<S> | undefined> {
    const entry = await this.kv.get(name);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    const where = `${SNAPSHOT_BUCKET}.${name}`;
    const raw = decodeJson(z.union([PointerSchema, SnapshotSchema]), where, entry.value);
    if (!('object' in raw)) return raw as Snapshot<S>;
    // Direct gets, as every object read (`readObject`): the library's read consumer may sit on a lost node.
    const jsm = await jsManager(this.nc, { checkAPI: false });
    const data = await readObject(jsm, await this.store(), LARGE_SNAPSHOT_BUCKET, raw.object);
    // The object went missing: no snapshot, so the projection rebuilds from the log.
    if (!data) return undefined;
    return decodeJson(SnapshotSchema, `${LARGE_SNAPSHOT_BUCKET}/${raw.object}`, data) as Snapshot<S>;
  }

  async save<S>(name: string, snapshot: Snapshot<S>): Promise<void> {
    const data = encodeJson(snapshot);
    const before = await this.kv.get(name).catch(() => null);
    if (data.length <= MAX_VALUE) {
      await this.kv.put(name, data);
    } else {
      const object = `${name}@${snapshot.lastSeq}`;
      const store = await this.store();
      await store.putBlob({ name: object }, data);
      await this.kv.put(
        name,
        encodeJson({ version: snapshot.version, lastSeq: snapshot.lastSeq, at: snapshot.at, object }),
      );
    }
    // The object the previous pointer named is no longer needed (best effort: a leftover is only space).
    const previous = before?.operation === 'PUT' ? PointerSchema.safeParse(safeJson(before.value)) : undefined;
    if (previous?.success && previous.data.object !== `${name}@${snapshot.lastSeq}`)
      await (await this.store()).delete(previous.data.object).catch(() => undefined);
  }
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
