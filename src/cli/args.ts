import { parseArgs } from 'node:util';
import { InputError } from '../errors.ts';
import { JS_DOMAIN, SITE_NAME } from '../events/subjects.ts';

export type ArgOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** A command's words as parseArgs reads them; what it refuses is an InputError in its words. */
export function parse(args: string[], options: ArgOptions) {
  // `--task-concurrency -1`: a value that starts with a dash is taken as the option's value (then
  // checked like any other) rather than refused as "ambiguous".
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const takesValue = a.startsWith('--') && options?.[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new InputError(message, undefined, { cause });
  }
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535)
    throw new InputError(`--port must be a TCP port (1-65535), not "${value}"`);
  return n;
}

export function wholeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InputError(`${flag} must be a whole number (0 or more), not "${value}"`);
  return n;
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag} must be a positive whole number, not "${value}"`);
  return n;
}

/** `a or b`, `one of a, b, c`: the values a flag accepts, as its error names them. */
export const oneOf = (values: readonly string[]) =>
  values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`;

/** `--site NAME`: a site's name is a token of NATS subjects and of a user name. */
export function siteName(value: string): string {
  if (!SITE_NAME.test(value)) throw new InputError(`--site "${value}": a site name is letters, digits, _ and - (1-64)`);
  return value;
}

export function jsDomain(value: string): string {
  if (!JS_DOMAIN.test(value))
    throw new InputError(`--domain "${value}": a JetStream domain is letters, digits, _ and -`);
  return value;
}

/** `--tls DIR`: where each machine keeps its certificates, written into the server configs, so absolute. */
export function certDir(value: string): string {
  if (!/^\/[^"\\\n]*$/.test(value))
    throw new InputError(`--tls "${value}": the certificates' folder is an absolute path (the same on every machine)`);
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}
