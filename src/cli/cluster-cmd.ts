import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  AUTH_CONF_FILE,
  LOOPBACK_NODES,
  clusterUrls,
  nodeConfFile,
  nodeConfig,
  routePasswordOf,
  type ClusterNode,
} from '../security/cluster-config.ts';
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
 */
export async function clusterInit(
  dirArg: string,
  nodes: readonly ClusterNode[] | undefined,
  site?: string,
): Promise<number> {
  const dir = resolve(dirArg);
  const header =
    '# Generated from src/security/roles.ts by `implement-agent cluster init`: run it again, do not edit.\n';
  const credentials = await storeCredentials(dir, site);
  if (site !== undefined) {
    const own: SiteCredentials = { v: 1, site, password: credentials.sites![site]! };
    await writeOwnerOnly(join(dir, siteCredentialsFile(site)), `${JSON.stringify(own)}\n`);
    await writeOwnerOnly(join(dir, siteAuthFile(site)), header + siteAuthorizationBlock(own));
  }
  await writeOwnerOnly(join(dir, AUTH_CONF_FILE), header + authorizationBlock(credentials));
  const existing = await readFile(join(dir, nodeConfFile(0)), 'utf8').catch(() => undefined);
  const layout = nodes ?? (existing === undefined ? LOOPBACK_NODES : undefined);
  if (layout) {
    const routePassword = (existing && routePasswordOf(existing)) ?? randomBytes(24).toString('base64url');
    for (let i = 0; i < layout.length; i++)
      await writeOwnerOnly(join(dir, nodeConfFile(i)), nodeConfig(layout, i, routePassword));
  }
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
  }
  out(
    `start each node on its machine (with this folder): nats-server -c ${join(dir, 'node1.conf')} -sd ${join(dir, 'node1')}`,
  );
  out(
    `then every process: ${layout ? `NATS_URL=${clusterUrls(layout)} ` : ''}NATS_CREDS=${join(dir, CREDENTIALS_FILE)}`,
  );
  return 0;
}
