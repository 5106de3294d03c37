import { InputError } from '../errors.ts';

/** One node of a JetStream cluster: where clients, the other nodes and leaf nodes (with a domain) reach it. */
export type ClusterNode = { host: string; port: number; routePort: number; leafPort?: number };

/** nats-server's own default port for leaf node links. */
const LEAF_PORT = 7422;

/** Three nodes on loopback: what `cluster init` writes unless given `--nodes`. */
export const LOOPBACK_NODES: readonly ClusterNode[] = [1, 2, 3].map((i) => ({
  host: '127.0.0.1',
  port: 24220 + i,
  routePort: 26220 + i,
  leafPort: 27220 + i,
}));

export { AUTH_CONF_FILE } from '../file-names.ts';
import { AUTH_CONF_FILE } from '../file-names.ts';
export const ROUTE_USER = 'route';
export const nodeConfFile = (index: number): string => `node${index + 1}.conf`;

/** `--nodes host:port:routePort[:leafPort],...` as nodes, each part checked, or an InputError naming the bad one. */
export function parseNodes(spec: string): ClusterNode[] {
  const nodes = spec.split(',').map((part) => {
    const m = /^([^\s:,]+):(\d{1,5}):(\d{1,5})(?::(\d{1,5}))?$/.exec(part.trim());
    const ports = [m?.[2], m?.[3], m?.[4]].filter((p) => p !== undefined).map(Number);
    if (!m || !ports.every((p) => p >= 1 && p <= 65535))
      throw new InputError(`--nodes: "${part}" is not HOST:CLIENT_PORT:ROUTE_PORT[:LEAF_PORT] (ports 1-65535)`);
    return { host: m[1]!, port: ports[0]!, routePort: ports[1]!, ...(ports[2] ? { leafPort: ports[2] } : {}) };
  });
  const addresses = nodes.flatMap((n) => [
    `${n.host}:${n.port}`,
    `${n.host}:${n.routePort}`,
    ...(n.leafPort ? [`${n.host}:${n.leafPort}`] : []),
  ]);
  const twice = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (twice) throw new InputError(`--nodes: ${twice} is given twice`);
  return nodes;
}

/** Where a node takes leaf node links (`leafnodes.listen` of its config, with a domain). */
const leafAddress = (n: ClusterNode): string => `${n.host}:${n.leafPort ?? LEAF_PORT}`;

/** What every client of the cluster is given as NATS_URL. */
export const clusterUrls = (nodes: readonly ClusterNode[]): string =>
  nodes.map((n) => `nats://${n.host}:${n.port}`).join(',');

/** The CA's certificate in the folder where each machine keeps its certificates (`cluster init --tls DIR`). */
export const tlsCaFile = (dir: string): string => `${dir}/ca.pem`;
/** Node `index`'s certificate and key, in that folder on its machine. */
export const tlsNodeFiles = (dir: string, index: number) => ({
  cert: `${dir}/node${index + 1}.pem`,
  key: `${dir}/node${index + 1}-key.pem`,
});

/** A nats-server `tls` block, indented to sit in a block: a listener presents the node's certificate; with `ca`, peers are checked against it. */
function tlsBlock(files: { cert: string; key: string; ca?: string }, indent: string): string {
  const lines = [`cert_file: ${JSON.stringify(files.cert)}`, `key_file: ${JSON.stringify(files.key)}`];
  if (files.ca !== undefined) lines.push(`ca_file: ${JSON.stringify(files.ca)}`);
  return `${indent}tls {\n${lines.map((l) => `${indent}  ${l}\n`).join('')}${indent}}\n`;
}

/**
 * The config of node `index`: its users and their rights come from `auth.conf` beside it
 * (generated from roles.ts); the routes between nodes authenticate with their own password, which
 * nats-server 2.9 takes only in each route's URL, so this file is as secret as auth.conf. No
 * monitoring port: its /varz would name the store to any local process. With a JetStream `domain`
 * the node also takes leaf node links (a site behind NAT, docs/scaling.md): a link logs in as a
 * user of auth.conf and is held to that user's rights. With `tlsDir` (where the node's machine keeps
 * its certificates) clients, routes and leaf links use TLS: the routes check each other against
 * the CA; clients and leaf nodes prove themselves with a password, so no certificate is asked of them.
 */
export function nodeConfig(
  nodes: readonly ClusterNode[],
  index: number,
  routePassword: string,
  domain?: string,
  tlsDir?: string,
): string {
  const node = nodes[index]!;
  const tls = (indent: string, checked: boolean) =>
    tlsDir === undefined
      ? ''
      : tlsBlock({ ...tlsNodeFiles(tlsDir, index), ...(checked ? { ca: tlsCaFile(tlsDir) } : {}) }, indent);
  const leaf = domain === undefined ? '' : `\nleafnodes {\n  listen: ${leafAddress(node)}\n${tls('  ', false)}}\n`;
  const routes = nodes.map((n) => `    nats-route://${ROUTE_USER}:${routePassword}@${n.host}:${n.routePort}`);
  return `# Node ${index + 1} of ${nodes.length} of an implement-agent JetStream cluster, written by \`implement-agent cluster init\`.
#   nats-server -c ${nodeConfFile(index)} -sd <its data folder>
# Its client users come from ${AUTH_CONF_FILE}; clients name credentials.json with NATS_CREDS or --creds.
include ./${AUTH_CONF_FILE}

server_name: ia-node${index + 1}
listen: ${node.host}:${node.port}

jetstream {${domain === undefined ? '' : `\n  domain: ${domain}`}
  max_memory_store: 256MB
  max_file_store: 8GB
}
max_payload: 1MB
${tls('', false)}
cluster {
  name: implement-agent
  listen: ${node.host}:${node.routePort}
${tls('  ', true)}  authorization {
    user: ${ROUTE_USER}
    password: ${JSON.stringify(routePassword)}
  }
  routes: [
${routes.join('\n')}
  ]
}
${leaf}`;
}

/** The JetStream domain a node config names, so a later `cluster init` writes the rights for it. */
export function domainOf(config: string): string | undefined {
  return /^jetstream \{\n {2}domain: (\S+)$/m.exec(config)?.[1];
}

/** Where the machines keep their certificates, as a node config says (`cluster init --tls`), so a later init keeps TLS on. */
export const tlsDirOf = (config: string): string | undefined =>
  // `--tls` takes no quote or backslash (cli/args.ts), so the path is written as it is.
  /^ {4}ca_file: "(.*)\/ca\.pem"$/m.exec(config)?.[1];

/** Where the nodes take leaf links, as their configs say (a later `cluster init --site` without `--nodes`). */
export const leafAddressesOf = (configs: readonly string[]): string[] =>
  configs.flatMap((c) => /^leafnodes \{\n {2}listen: (\S+)$/m.exec(c)?.[1] ?? []);

export const siteLeafFile = (user: string): string => `${user}.leaf.conf`;

/**
 * A site's own nats-server, a leaf node of the cluster: it serves the site's executors on
 * loopback with the site's user alone (`authFile`), and dials out to the nodes as that user, so a
 * site behind NAT needs no inbound port and its link carries only what that user may do. It runs
 * no JetStream: its clients address the cluster's `domain`. The password is in the URLs
 * (nats-server takes a remote's credentials only there), so this file is secret. With `tlsDir`
 * the link is TLS, the nodes' certificates checked against the CA kept there.
 */
export function siteLeafConfig(
  user: string,
  password: string,
  addresses: readonly string[],
  authFile: string,
  tlsDir?: string,
): string {
  const urls = addresses.map((a) => JSON.stringify(`nats-leaf://${user}:${password}@${a}`)).join(', ');
  const tls = tlsDir === undefined ? '' : `, tls { ca_file: ${JSON.stringify(tlsCaFile(tlsDir))} }`;
  return `# ${user}'s own nats-server, a leaf node of the cluster, written by \`implement-agent cluster init --site\`.
#   nats-server -c ${siteLeafFile(user)}     (with ${authFile} beside it)
# Its executors: NATS_URL=nats://127.0.0.1:4222, NATS_CREDS=${user}.json and natsDomain (NATS_DOMAIN) as the cluster's.
server_name: ia-${user}
listen: 127.0.0.1:4222
include ./${authFile}

leafnodes {
  remotes [
    { urls: [${urls}]${tls} }
  ]
}
`;
}

/** The route password a node config holds, so a later `cluster init` keeps the nodes' routes as they are. */
export function routePasswordOf(config: string): string | undefined {
  return new RegExp(`nats-route://${ROUTE_USER}:([A-Za-z0-9_-]+)@`).exec(config)?.[1];
}
