import { inert } from '../inert.ts';
import { accessSync, constants, readFileSync } from 'node:fs';
import {
  AuthorizationError,
  PermissionViolationError,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import type { Config } from '../config.ts';
import { EnvironmentError } from '../errors.ts';
import { safeParse } from '../events/codec.ts';
import { CredentialsSchema, SiteCredentialsSchema, type Credentials } from '../security/credentials.ts';
import { siteUser, type Role } from '../security/roles.ts';
import { addressDomain } from './jetstream-domain.ts';

export type { NatsConnection };

/**
 * How a process proves who it is to NATS: the tool's own per-role passwords (a store's
 * credentials.json; with `site`, its executor connects as that site's user), one site's own
 * password (a site-NAME.json: its executor only), one identity for every role (a standard
 * `.creds` file, or a user and password), or nothing (a server without authentication, warned about).
 */
export type NatsAuth =
  | { kind: 'roles'; credentials: Credentials; source: string; site?: string }
  | { kind: 'site'; site: string; password: string; source: string }
  | { kind: 'creds'; bytes: Uint8Array; source: string }
  | { kind: 'user'; user: string; pass: string }
  | { kind: 'none' };

/**
 * Credentials named in the environment: NATS_CREDS (or --creds), a `.creds` file or the tool's
 * own credentials.json; else NATS_USER with NATS_PASSWORD or NATS_PASSWORD_FILE. Never from a
 * command line, where other users could read them.
 */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): NatsAuth | undefined {
  const file = env.NATS_CREDS;
  if (file) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (cause) {
      throw new EnvironmentError(`cannot read NATS_CREDS (${file}): ${(cause as Error).message}`, { cause });
    }
    const json = bytes[0] === 0x7b ? parseJson(bytes) : undefined;
    const own = safeParse(CredentialsSchema, json);
    if (own.success) return { kind: 'roles', credentials: own.data, source: file };
    const site = safeParse(SiteCredentialsSchema, json);
    if (site.success) return { kind: 'site', site: site.data.site, password: site.data.password, source: file };
    return { kind: 'creds', bytes, source: file };
  }
  const user = env.NATS_USER;
  const passwordFile = env.NATS_PASSWORD_FILE;
  const pass = passwordFile ? readFileSync(passwordFile, 'utf8').trim() : env.NATS_PASSWORD;
  return user && pass ? { kind: 'user', user, pass } : undefined;
}

const parseJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
};

function authOptions(auth: NatsAuth, role: Role) {
  switch (auth.kind) {
    case 'roles':
      return role === 'executor' && auth.site !== undefined
        ? { user: siteUser(auth.site), pass: auth.credentials.sites?.[auth.site] }
        : { user: role, pass: auth.credentials.users[role] };
    case 'site':
      return { user: siteUser(auth.site), pass: auth.password };
    case 'creds':
      return { authenticator: credsAuthenticator(auth.bytes) };
    case 'user':
      return { user: auth.user, pass: auth.pass };
    case 'none':
      return {};
    default:
      return auth satisfies never;
  }
}

let warnedOpen = false;

/**
 * Connects with unlimited reconnects: a restarted nats-server (file storage) must not end a run.
 * The first connection fails fast, with an error that names the URL. `role` picks the user when
 * `auth` has one per role. A server that asks for no credentials is said once per process: any
 * local process could then put work in front of the executor. `domain`: the JetStream domain its
 * JetStream contexts address (config natsDomain, jetstream-domain.ts); `ca`: the file of the CA
 * that signed the servers' certificates (config natsCa), which makes TLS required.
 */
export async function connectNats(
  url: string,
  name: string,
  auth: NatsAuth = authFromEnv() ?? { kind: 'none' },
  role: Role = 'cli',
  { domain, ca }: { domain?: string | undefined; ca?: string | undefined } = {},
): Promise<NatsConnection> {
  let nc: NatsConnection;
  const tls = ca === undefined ? {} : { tls: { caFile: readableCa(ca) } };
  try {
    nc = await connect({
      servers: url.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every request builds two errors up front (for a stack trace should it fail),
      // a large share of an append's CPU time (docs/benchmarks.md).
      noAsyncTraces: true,
      ...authOptions(auth, role),
      ...tls,
    });
  } catch (cause) {
    throw new EnvironmentError(connectFailure(url, auth, role, cause as Error), { cause });
  }
  if (auth.kind === 'none' && nc.info?.auth_required !== true && !warnedOpen) {
    warnedOpen = true;
    process.stderr.write(
      `implement-agent: warning: the NATS server at ${url} asks for no credentials: any local process can publish work to the executor (see docs/access-control.md)\n`,
    );
  }
  addressDomain(nc, domain);
  void reportRefusals(nc, name);
  return nc;
}

/** Which JetStream domain and CA a connection uses, as the configuration says (natsDomain, natsCa). */
export const natsTarget = (config: Pick<Config, 'natsDomain' | 'natsCa'>) => ({
  domain: config.natsDomain,
  ca: config.natsCa,
});

/** The CA file, once it is known to be readable: the client's own error would not say which setting named it. */
function readableCa(file: string): string {
  try {
    accessSync(file, constants.R_OK);
  } catch (cause) {
    throw new EnvironmentError(
      `cannot read the CA file ${file} (given by NATS_CA or natsCa in the config): ${(cause as Error).message}`,
      { cause },
    );
  }
  return file;
}

function connectFailure(url: string, auth: NatsAuth, role: Role, cause: Error): string {
  if (!causedBy(cause, AuthorizationError))
    return (
      `cannot connect to NATS at ${url} (given by -s/--server, NATS_URL or natsUrl in the config): ${cause.message}. ` +
      'Check that address, or give none to let implement-agent start a local nats-server.'
    );
  const as =
    auth.kind === 'roles'
      ? `as ${role === 'executor' && auth.site ? siteUser(auth.site) : role} from ${auth.source}`
      : auth.kind === 'site'
        ? `as ${siteUser(auth.site)} from ${auth.source}`
        : auth.kind === 'creds'
          ? `with ${auth.source}`
          : auth.kind === 'user'
            ? `as ${auth.user}`
            : 'without credentials';
  return (
    `NATS at ${url} refused to admit this process ${as}: give its credentials with NATS_CREDS (or --creds FILE: ` +
    "a .creds file, a store's .implement-agent/nats/credentials.json or a site's site-NAME.json) or NATS_USER and NATS_PASSWORD"
  );
}

/** Whether `error`, or an error it was caused by, is a `kind`. */
function causedBy(error: unknown, kind: abstract new (...args: never[]) => Error): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as Error).cause) if (e instanceof kind) return true;
  return false;
}

/** The server refused a publish or subscription: this role has no right to it. */
export const isRefused = (error: unknown): boolean => causedBy(error, PermissionViolationError);

/** A publish or subscription the server refuses would otherwise pass in silence: each is said. */
async function reportRefusals(nc: NatsConnection, name: string): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && isRefused(s.error))
      process.stderr.write(`implement-agent: ${name}: NATS refused: ${inert(s.error.message, true)}\n`);
  }
}

/**
 * Options for every JetStream pull `consume()`. A pull request outstanding at a consumer leader
 * that stops (a cluster node down) is lost without a word; the client notices only when two idle
 * heartbeats (half of `expires` each) are missed, and then re-pulls. The library default (30 s)
 * stalls a run for half a minute per failover; 2 s bounds the stall at a few seconds, for one
 * small pull request per idle consumer every 2 s.
 */
export const PULL_EXPIRES_MS = 2_000;

export function pullOptions(maxMessages: number): { max_messages: number; expires: number } {
  return { max_messages: maxMessages, expires: PULL_EXPIRES_MS };
}
