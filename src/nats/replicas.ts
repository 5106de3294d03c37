import type { JetStreamManager } from '@nats-io/jetstream';
import type { ServerInfo } from '@nats-io/transport-node';
import {
  CONTENT_BUCKET,
  EVENTS_STREAM,
  LARGE_SNAPSHOT_BUCKET,
  OUTPUT_BUCKET,
  SNAPSHOT_BUCKET,
  WORK_STREAM,
  objectStream,
} from '../events/subjects.ts';

/**
 * The replicas of every stream and bucket when `natsReplicas` is not set: as many as the
 * cluster has nodes, up to three. Three keep a majority when one node is lost; more only slow
 * every write.
 */
export const DEFAULT_MAX_REPLICAS = 3;

/**
 * How many nodes the server's cluster has, from its INFO: a clustered server lists its own
 * client URL and each routed peer's in `connect_urls` (none with `no_advertise`: 1 then, as
 * outside a cluster).
 */
export function clusterSize(info: Pick<ServerInfo, 'cluster' | 'connect_urls'> | undefined): number {
  if (!info?.cluster) return 1;
  return Math.max(1, new Set(info.connect_urls ?? []).size);
}

/** The replicas to make streams and buckets with: the configured number wins. */
export function replicasFor(
  configured: number | undefined,
  info: Pick<ServerInfo, 'cluster' | 'connect_urls'> | undefined,
): number {
  return configured ?? Math.min(DEFAULT_MAX_REPLICAS, clusterSize(info));
}

/** The JetStream streams behind this tool's log, work queue and buckets. */
export const OWN_STREAMS = [
  EVENTS_STREAM,
  WORK_STREAM,
  `KV_${SNAPSHOT_BUCKET}`,
  objectStream(OUTPUT_BUCKET),
  objectStream(CONTENT_BUCKET),
  objectStream(LARGE_SNAPSHOT_BUCKET),
] as const;

/**
 * This tool's streams that exist with fewer replicas than `wanted`, each with the replicas it
 * has. JetStream keeps a stream's replicas as it was made, so a store made before the cluster
 * grew (or before natsReplicas was raised) stays on fewer nodes unless someone raises them.
 */
export async function fewerReplicas(
  jsm: JetStreamManager,
  wanted: number,
): Promise<{ stream: string; replicas: number }[]> {
  const short: { stream: string; replicas: number }[] = [];
  for await (const s of jsm.streams.list()) {
    const replicas = s.config.num_replicas ?? 1;
    if ((OWN_STREAMS as readonly string[]).includes(s.config.name) && replicas < wanted)
      short.push({ stream: s.config.name, replicas });
  }
  return short;
}

/** What to say of a stream kept on fewer replicas than wanted: the stream, the setting, the fix. */
export function fewerReplicasWarning(
  short: { stream: string; replicas: number },
  wanted: number,
  configured: number | undefined,
): string {
  const why =
    configured === undefined
      ? `natsReplicas is not set, so ${wanted} (min(${DEFAULT_MAX_REPLICAS}, the cluster's nodes))`
      : `natsReplicas is ${configured}`;
  return (
    `stream ${short.stream} keeps ${short.replicas} replica(s), but ${why}: JetStream does not raise a ` +
    `stream's replicas by itself; raise them (nats stream edit ${short.stream} --replicas ${wanted}) or set ` +
    `natsReplicas to ${short.replicas} in implement-agent.config.json`
  );
}
