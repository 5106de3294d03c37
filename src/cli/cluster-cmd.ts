import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import {
  AUTH_CONF_FILE,
  LOOPBACK_NODES,
  clusterUrls,
  domainOf,
  leafAddressesOf,
  nodeConfFile,
  nodeConfig,
  routePasswordOf,
  siteLeafConfig,
  siteLeafFile,
  tlsCaFile,
  tlsDirOf,
  type ClusterNode,
} from '../security/cluster-config.ts';
import { siteUser } from '../security/roles.ts';
import {
  CREDENTIALS_FILE,
  authorizationBlock,
  siteAuthFile,
  siteAuthorizationBlock,
  siteCredentialsFile,
  storeCredentials,
  writeOwnerOnly,
  type SiteCredentials,
} from '../security/credentials.ts';
import { out } from './terminal.ts';

/**
 * `implement-agent cluster init DIR [--nodes ...]`: the files a cluster runs with authentication
 * on, in DIR (owner only). credentials.json (a password per role) is made once and kept, so
 * clients keep working; auth.conf (the users and their rights) is generated from roles.ts at each
 * init, so it follows the code; the node configs are written when there are none or when `nodes`
 * is given, keeping the routes' password of the nodes already there. With `site`, that site gets
 * a password (kept if it has one), a user in auth.conf, and a file of its own for its machine.
 * With `domain` the nodes are that JetStream domain and take leaf node links, every right is
 * granted in the domain too, and a site also gets its leaf node's config; the domain is kept in
 * the node configs, so a later init without it writes the rights for it still. With `tlsArg` (where
 * each machine keeps its certificates) the nodes and the leaf configs use TLS; it is kept as the domain is.
 */
export async function clusterInit(
  dirArg: string,
  nodes: readonly ClusterNode[] | undefined,
  site?: string,
  domainArg?: string,
  tlsArg?: string,
): Promise<number> {
  const dir = resolve(dirArg);
  const header =
    '# Generated from src/security/roles.ts by `implement-agent cluster init`: run it again, do not edit.\n';
  const existing = await readNodeConfigs(dir);
  const layout = nodes ?? (existing.length === 0 ? LOOPBACK_NODES : undefined);
  const domain = kept('--domain', domainArg, existing[0], domainOf, layout === undefined, dir);
  const tlsDir = kept('--tls', tlsArg, existing[0], tlsDirOf, layout === undefined, dir);
  const credentials = await storeCredentials(dir, site);
  if (layout) {
    const routePassword = (existing[0] && routePasswordOf(existing[0])) ?? randomBytes(24).toString('base64url');
    for (let i = 0; i < layout.length; i++)
      await writeOwnerOnly(join(dir, nodeConfFile(i)), nodeConfig(layout, i, routePassword, domain, tlsDir));
  }
  if (site !== undefined)
    await writeSiteFiles(
      dir,
      header,
      { v: 1, site, password: credentials.sites![site]! },
      { domain, tlsDir },
      async () => leafAddressesOf(layout ? await readNodeConfigs(dir) : existing),
    );
  await writeOwnerOnly(join(dir, AUTH_CONF_FILE), header + authorizationBlock(credentials, domain));
  out(`cluster files in ${dir} (owner only):`);
  out(`  ${CREDENTIALS_FILE}  a password per role: give it to every implement-agent process (NATS_CREDS or --creds)`);
  out(`  ${AUTH_CONF_FILE}  the users and what each may do, from src/security/roles.ts (written again by each init)`);
  out(
    layout
      ? `  ${layout.map((_, i) => nodeConfFile(i)).join(', ')}  one per node, with the routes' password`
      : '  node*.conf  kept as they were (--nodes writes them anew)',
  );
  if (site !== undefined) {
    out(
      `  ${siteCredentialsFile(site)}  site ${site}'s password alone: give it to that site's machine (NATS_CREDS), and reload the nodes (nats-server --signal reload)`,
    );
    out(`  ${siteAuthFile(site)}  site ${site}'s user alone, for its own server when it is a leaf node`);
    if (domain !== undefined)
      out(
        `  ${siteLeafFile(siteUser(site))}  site ${site}'s own nats-server, a leaf node dialling out to the nodes (secret: it holds the password)`,
      );
  }
  out(
    `start each node on its machine (with this folder): nats-server -c ${join(dir, 'node1.conf')} -sd ${join(dir, 'node1')}`,
  );
  if (tlsDir !== undefined)
    out(
      `TLS: node N's machine keeps ${tlsDir}/nodeN.pem and nodeN-key.pem (its host name and address in the certificate), every machine ${tlsCaFile(tlsDir)}`,
    );
  const ca = tlsDir === undefined ? '' : ` NATS_CA=${tlsCaFile(tlsDir)}`;
  out(
    `then every process: ${layout ? `NATS_URL=${clusterUrls(layout)} ` : ''}NATS_CREDS=${join(dir, CREDENTIALS_FILE)}${domain === undefined ? '' : ` NATS_DOMAIN=${domain}`}${ca}`,
  );
  return 0;
}

/**
 * A setting the node configs hold (the domain, the certificates' folder): the one given, else what
 * `existing` (node1.conf) says. Changed without `--nodes` it is refused: the configs would not follow.
 */
function kept(
  flag: string,
  given: string | undefined,
  existing: string | undefined,
  readBack: (config: string) => string | undefined,
  nodesKept: boolean,
  dir: string,
): string | undefined {
  const was = existing === undefined ? undefined : readBack(existing);
  const value = given ?? was;
  if (nodesKept && value !== was)
    throw new InputError(
      `${flag} ${value}: the node configs in ${dir} name ${was ?? 'none'}; give --nodes too, so they are written again for it`,
    );
  return value;
}

/** A site's own files: its password alone, its user alone and, in a domain, its leaf node's config. */
async function writeSiteFiles(
  dir: string,
  header: string,
  own: SiteCredentials,
  { domain, tlsDir }: { domain: string | undefined; tlsDir: string | undefined },
  leaves: () => Promise<string[]>,
): Promise<void> {
  await writeOwnerOnly(join(dir, siteCredentialsFile(own.site)), `${JSON.stringify(own)}\n`);
  await writeOwnerOnly(join(dir, siteAuthFile(own.site)), header + siteAuthorizationBlock(own, domain));
  if (domain === undefined) return;
  const user = siteUser(own.site);
  await writeOwnerOnly(
    join(dir, siteLeafFile(user)),
    siteLeafConfig(user, own.password, await leaves(), siteAuthFile(own.site), tlsDir),
  );
}

/** The node configs already in `dir`, in order (node1.conf, node2.conf, ... until one is missing). */
async function readNodeConfigs(dir: string): Promise<string[]> {
  const configs: string[] = [];
  for (;;) {
    const config = await readFile(join(dir, nodeConfFile(configs.length)), 'utf8').catch(() => undefined);
    if (config === undefined) return configs;
    configs.push(config);
  }
}
