import { InputError } from '../errors.ts';

/** One node of a JetStream cluster: where clients and the other nodes reach it. */
export type ClusterNode = { host: string; port: number; routePort: number };

/** Three nodes on loopback: what `cluster init` writes unless given `--nodes`. */
export const LOOPBACK_NODES: readonly ClusterNode[] = [1, 2, 3].map((i) => ({
  host: '127.0.0.1',
  port: 24220 + i,
  routePort: 26220 + i,
}));

export { AUTH_CONF_FILE } from '../file-names.ts';
import { AUTH_CONF_FILE } from '../file-names.ts';
export const ROUTE_USER = 'route';
export const nodeConfFile = (index: number): string => `node${index + 1}.conf`;

/** `--nodes host:port:routePort,...` as nodes, each part checked, or an InputError naming the bad one. */
export function parseNodes(spec: string): ClusterNode[] {
  const nodes = spec.split(',').map((part) => {
    const m = /^([^\s:,]+):(\d{1,5}):(\d{1,5})$/.exec(part.trim());
    const [port, routePort] = [Number(m?.[2]), Number(m?.[3])];
    if (!m || !(port >= 1 && port <= 65535 && routePort >= 1 && routePort <= 65535))
      throw new InputError(`--nodes: "${part}" is not HOST:CLIENT_PORT:ROUTE_PORT (ports 1-65535)`);
    return { host: m[1]!, port, routePort };
  });
  const addresses = nodes.flatMap((n) => [`${n.host}:${n.port}`, `${n.host}:${n.routePort}`]);
  const twice = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (twice) throw new InputError(`--nodes: ${twice} is given twice`);
  return nodes;
}

/** What every client of the cluster is given as NATS_URL. */
export const clusterUrls = (nodes: readonly ClusterNode[]): string =>
  nodes.map((n) => `nats://${n.host}:${n.port}`).join(',');

/**
 * The config of node `index`: its users and their rights come from `auth.conf` beside it
 * (generated from roles.ts); the routes between nodes authenticate with their own password, which
 * nats-server 2.9 takes only in each route's URL, so this file is as secret as auth.conf. No
 * monitoring port: its /varz would name the store to any local process.
 */
export function nodeConfig(nodes: readonly ClusterNode[], index: number, routePassword: string): string {
  const node = nodes[index]!;
  const routes = nodes.map((n) => `    nats-route://${ROUTE_USER}:${routePassword}@${n.host}:${n.routePort}`);
  return `# Node ${index + 1} of ${nodes.length} of an implement-agent JetStream cluster, written by \`implement-agent cluster init\`.
#   nats-server -c ${nodeConfFile(index)} -sd <its data folder>
# Its client users come from ${AUTH_CONF_FILE}; clients name credentials.json with NATS_CREDS or --creds.
include ./${AUTH_CONF_FILE}

server_name: ia-node${index + 1}
listen: ${node.host}:${node.port}

jetstream {
  max_memory_store: 256MB
  max_file_store: 8GB
}
max_payload: 1MB

cluster {
  name: implement-agent
  listen: ${node.host}:${node.routePort}
  authorization {
    user: ${ROUTE_USER}
    password: ${JSON.stringify(routePassword)}
  }
  routes: [
${routes.join('\n')}
  ]
}
`;
}

/** The route password a node config holds, so a later `cluster init` keeps the nodes' routes as they are. */
export function routePasswordOf(config: string): string | undefined {
  return new RegExp(`nats-route://${ROUTE_USER}:([A-Za-z0-9_-]+)@`).exec(config)?.[1];
}
