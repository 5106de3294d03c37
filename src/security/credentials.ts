import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { EnvironmentError } from '../errors.ts';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { SITE_NAME } from '../events/subjects.ts';
import { permissionsOf, roleNames, sitePermissions, siteUser, type Permissions, type Role } from './roles.ts';

/** The password of every role on one store's server: the tool's own credentials file. */
export const CredentialsSchema = z
  .object({
    v: z.literal(1),
    users: z.record(z.enum(roleNames), z.string().min(16)),
    /** Each site's own password (`cluster init --site NAME`): its executors connect as `site-NAME`. */
    sites: z.record(z.string().regex(SITE_NAME), z.string().min(16)).optional(),
  })
  .refine((c) => roleNames.every((r) => c.users[r] !== undefined), { message: 'a password for every role' });
export type Credentials = z.infer<typeof CredentialsSchema>;

/**
 * What a site's machine is given (`cluster init --site NAME` writes it): its own password and
 * nothing else, so a site holds no role's password and cannot speak as another site.
 */
export const SiteCredentialsSchema = z.object({
  v: z.literal(1),
  site: z.string().regex(SITE_NAME),
  password: z.string().min(16),
});
export type SiteCredentials = z.infer<typeof SiteCredentialsSchema>;
export const siteCredentialsFile = (site: string): string => `${siteUser(site)}.json`;
/** A site's own server's users (a leaf node's), for `include` in its config. */
export const siteAuthFile = (site: string): string => `${siteUser(site)}.auth.conf`;

export const CREDENTIALS_FILE = 'credentials.json';
export const SERVER_CONFIG_FILE = 'nats-server.conf';

const fresh = (): Credentials => ({
  v: 1,
  users: Object.fromEntries(roleNames.map((r) => [r, randomBytes(24).toString('base64url')])) as Record<Role, string>,
});

export async function readCredentials(path: string): Promise<Credentials> {
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new EnvironmentError(`cannot read the NATS credentials ${path}: ${(cause as Error).message}`, { cause });
  });
  return decodeJson(CredentialsSchema, path, bytes);
}

/**
 * The store's credentials, made on its first start: random per role, in a file only the owner
 * reads, in a folder only the owner enters (the sandbox hides the whole store from commands).
 * With `site`, a password for that site is added unless there is one. Written to a temporary
 * name and renamed, so a reader never sees half a file.
 */
export async function storeCredentials(storeDir: string, site?: string): Promise<Credentials> {
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  await chmod(storeDir, 0o700);
  const path = join(storeDir, CREDENTIALS_FILE);
  const existing = await readFile(path).catch(() => undefined);
  const before = existing ? decodeJson(CredentialsSchema, path, existing) : undefined;
  const credentials = site === undefined ? (before ?? fresh()) : withSite(before ?? fresh(), site);
  if (credentials !== before) await writeOwnerOnly(path, encodeJson(credentials));
  return credentials;
}

/** Owner only, whole or not at all: a reader never sees half a file. */
export async function writeOwnerOnly(path: string, bytes: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}`;
  await writeFile(temp, bytes, { mode: 0o600 });
  await rename(temp, path);
}

/** The credentials with a password for `site` (kept when it has one): `cluster init --site NAME`. */
export const withSite = (credentials: Credentials, site: string): Credentials =>
  credentials.sites?.[site]
    ? credentials
    : { ...credentials, sites: { ...credentials.sites, [site]: randomBytes(24).toString('base64url') } };

/** A quoted string in nats-server's config syntax. */
const quoted = (s: string) => JSON.stringify(s);

type User = { user: string; password: string; p: Permissions };

/**
 * The authorization block of nats-server's config: one user per role, and per site, its rights
 * from roles.ts; with `domain`, the JetStream API is granted as that domain's (cluster init --domain).
 */
export function authorizationBlock(credentials: Credentials, domain?: string): string {
  const roles = roleNames.map((role) => ({
    user: role,
    password: credentials.users[role],
    p: permissionsOf(role, domain),
  }));
  const sites = Object.entries(credentials.sites ?? {}).map(([site, password]) =>
    siteEntry({ v: 1, site, password }, domain),
  );
  return usersBlock([...roles, ...sites]);
}

/** A site's own server's authorization block (a leaf node behind NAT, docs/scaling.md): its user alone. */
export const siteAuthorizationBlock = (own: SiteCredentials, domain?: string): string =>
  usersBlock([siteEntry(own, domain)]);

const siteEntry = ({ site, password }: SiteCredentials, domain: string | undefined): User => ({
  user: siteUser(site),
  password,
  p: sitePermissions(site, domain),
});

function usersBlock(users: readonly User[]): string {
  const list = (xs: string[]) => `[${xs.map(quoted).join(', ')}]`;
  const entries = users.map(({ user, password, p }) =>
    [
      `    { user: ${quoted(user)}, password: ${quoted(password)}, permissions: {`,
      `      publish: { allow: ${list(p.publish)} }`,
      `      subscribe: { allow: ${list(p.subscribe)} }`,
      `      allow_responses: true`,
      `    } }`,
    ].join('\n'),
  );
  return `authorization {\n  users: [\n${entries.join('\n')}\n  ]\n}\n`;
}

/** `base` (the repository's nats.conf) with the authorization block, written beside the store, owner only. */
export async function writeServerConfig(storeDir: string, base: string, credentials: Credentials): Promise<string> {
  const path = join(storeDir, SERVER_CONFIG_FILE);
  await writeOwnerOnly(
    path,
    `${base}\n# Generated from src/security/roles.ts at start-up: edit that, not this.\n${authorizationBlock(credentials)}`,
  );
  return path;
}
