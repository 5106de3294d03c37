import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamManagerOptions,
  type JetStreamOptions,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The JetStream domain each connection addresses (config `natsDomain`), recorded where the
 * connection is made, so that every JetStream client, manager and bucket manager made on it here
 * names it: a site behind a leaf node reaches the cluster's streams only through the domain's API
 * subjects (docs/scaling.md). A connection with none uses the local API, as before domains.
 * src/ makes JetStream contexts only through this file (eslint.config.js says so).
 */
const domains = new WeakMap<NatsConnection, string>();

export function addressDomain(nc: NatsConnection, domain: string | undefined): void {
  if (domain !== undefined) domains.set(nc, domain);
}

function withDomain<O extends JetStreamOptions>(nc: NatsConnection, options: O): O {
  const domain = domains.get(nc);
  return domain === undefined ? options : { ...options, domain };
}

export const jsClient = (nc: NatsConnection, options: JetStreamOptions = {}): JetStreamClient =>
  jetstream(nc, withDomain(nc, options));

export const jsManager = (nc: NatsConnection, options: JetStreamManagerOptions = {}): Promise<JetStreamManager> =>
  jetstreamManager(nc, withDomain(nc, options));

/** KV and object-store managers on a client of the connection's domain (given the connection alone, they would use none). */
export const kvManager = (nc: NatsConnection): Kvm => new Kvm(jsClient(nc));
export const objectManager = (nc: NatsConnection): Objm => new Objm(jsClient(nc));
