import type { JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type * as z from 'zod';
import type { ContentStore, OutputStore, Requests, Server } from '../events/bus.ts';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { CONTENT_BUCKET, OUTPUT_BUCKET } from '../events/subjects.ts';
import type { NatsConnection } from './connection.ts';
import { jsManager, objectManager } from './jetstream-domain.ts';
import { readObject } from './object-read.ts';

/** Requests on core NATS: request/reply, queue groups for servers that share the load. */
export class NatsRequests implements Requests {
  constructor(private readonly nc: NatsConnection) {}

  async request<S extends z.ZodType>(
    subject: string,
    payload: unknown,
    schema: S,
    timeoutMs: number,
  ): Promise<z.infer<S>> {
    const reply = await this.nc.request(subject, encodeJson(payload), { timeout: timeoutMs });
    return decodeJson(schema, subject, reply.data);
  }

  serve<S extends z.ZodType>(
    subject: string,
    options: { schema: S; queue?: string; onError: (error: unknown) => unknown },
    handler: (request: z.infer<S>) => Promise<unknown>,
  ): Server {
    const sub = this.nc.subscribe(subject, options.queue !== undefined ? { queue: options.queue } : {});
    const pending = new Set<Promise<void>>();
    const loop = (async () => {
      for await (const m of sub) {
        // Each request is answered on its own: a slow one (an LLM call) holds up no other.
        const answered = (async () => {
          let reply: unknown;
          try {
            reply = await handler(decodeJson(options.schema, m.subject, m.data));
          } catch (error) {
            reply = options.onError(error);
          }
          m.respond(encodeJson(reply));
        })();
        pending.add(answered);
        void answered.finally(() => pending.delete(answered));
      }
    })();
    return {
      stop: async () => {
        await sub.drain();
        await loop;
        await Promise.allSettled(pending);
      },
    };
  }
}

/** Full outputs in the agent_outputs object store; `ready` makes the bucket where another connection must. */
export class NatsOutputs implements OutputStore {
  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
    private readonly ready: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Creates the bucket (the admin's part); `put` then finds it. */
  async ensure(): Promise<void> {
    await objectManager(this.nc).create(OUTPUT_BUCKET, { replicas: this.replicas });
  }

  async put(name: string, output: string): Promise<string> {
    await this.ready();
    const os = await objectManager(this.nc).create(OUTPUT_BUCKET, { replicas: this.replicas });
    await os.putBlob({ name }, new TextEncoder().encode(output));
    return `${OUTPUT_BUCKET}/${name}`;
  }
}

/** File contents in the agent_contents object store, named by their hash: each stored once. */
export class NatsContents implements ContentStore {
  private bucket?: Promise<ObjectStore>;
  private jsm?: Promise<JetStreamManager>;
  /** Hashes known to be stored: a content seen again (the same file in many runs) costs no round trip. */
  private readonly known = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
    private readonly ready: () => Promise<void> = () => Promise.resolve(),
  ) {}

  private store(): Promise<ObjectStore> {
    this.bucket ??= this.ready().then(() => objectManager(this.nc).create(CONTENT_BUCKET, { replicas: this.replicas }));
    return this.bucket;
  }

  /** Creates the bucket (the admin's part); the roles then find it. */
  async ensure(): Promise<void> {
    await this.store();
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.known.has(hash)) return;
    const os = await this.store();
    const info = await os.info(hash);
    if (!info || info.deleted) await os.putBlob({ name: hash }, bytes);
    this.known.add(hash);
  }

  /**
   * Read by direct gets (`readObject`): a lost node's read consumer stalls no change set. Every
   * content read is checked against its name, the SHA-256 of its bytes (storedContent), so the
   * object's digest, the same hash, is not taken a second time.
   */
  async get(hash: string): Promise<Uint8Array | undefined> {
    this.jsm ??= jsManager(this.nc, { checkAPI: false });
    return readObject(await this.jsm, await this.store(), CONTENT_BUCKET, hash, false);
  }
}
