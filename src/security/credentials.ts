import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { EnvironmentError } from '../errors.ts';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { permissionsOf, roleNames, type Role } from './roles.ts';

/** The password of every role on one store's server: the tool's own credentials file. */
export const CredentialsSchema = z
  .object({ v: z.literal(1), users: z.record(z.enum(roleNames), z.string().min(16)) })
  .refine((c) => roleNames.every((r) => c.users[r] !== undefined), { message: 'a password for every role' });
export type Credentials = z.infer<typeof CredentialsSchema>;

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
 * Written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function storeCredentials(storeDir: string): Promise<Credentials> {
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  await chmod(storeDir, 0o700);
  const path = join(storeDir, CREDENTIALS_FILE);
  const existing = await readFile(path).catch(() => undefined);
  if (existing) return decodeJson(CredentialsSchema, path, existing);
  const credentials = fresh();
  const temp = `${path}.${process.pid}`;
  await writeFile(temp, encodeJson(credentials), { mode: 0o600 });
  await rename(temp, path);
  return credentials;
}

/** A quoted string in nats-server's config syntax. */
const quoted = (s: string) => JSON.stringify(s);

/** The authorization block of nats-server's config: one user per role, its rights from roles.ts. */
export function authorizationBlock(credentials: Credentials): string {
  const users = roleNames.map((role) => {
    const p = permissionsOf(role);
    const list = (xs: string[]) => `[${xs.map(quoted).join(', ')}]`;
    return [
      `    { user: ${quoted(role)}, password: ${quoted(credentials.users[role])}, permissions: {`,
      `      publish: { allow: ${list(p.publish)} }`,
      `      subscribe: { allow: ${list(p.subscribe)} }`,
      `      allow_responses: true`,
      `    } }`,
    ].join('\n');
  });
  return `authorization {\n  users: [\n${users.join('\n')}\n  ]\n}\n`;
}

/** `base` (the repository's nats.conf) with the authorization block, written beside the store, owner only. */
export async function writeServerConfig(storeDir: string, base: string, credentials: Credentials): Promise<string> {
  const path = join(storeDir, SERVER_CONFIG_FILE);
  const temp = `${path}.${process.pid}`;
  await writeFile(
    temp,
    `${base}\n# Generated from src/security/roles.ts at start-up: edit that, not this.\n${authorizationBlock(credentials)}`,
    {
      mode: 0o600,
    },
  );
  await rename(temp, path);
  return path;
}
