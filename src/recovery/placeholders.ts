import { posix } from 'node:path';

/** Python import names whose pip package has another name. */
const PY_PACKAGES: Record<string, string> = {
  yaml: 'pyyaml',
  cv2: 'opencv-python',
  PIL: 'pillow',
  sklearn: 'scikit-learn',
  bs4: 'beautifulsoup4',
  dateutil: 'python-dateutil',
  dotenv: 'python-dotenv',
  jwt: 'pyjwt',
  serial: 'pyserial',
};

const TRANSFORMS: Record<string, (value: string, arg?: string) => string> = {
  dirname: (v) => posix.dirname(v),
  /** `@scope/pkg/sub` -> `@scope/pkg`, `pkg/sub` -> `pkg`. */
  package: (v) => (v.startsWith('@') ? v.split('/').slice(0, 2).join('/') : (v.split('/')[0] ?? v)),
  pypackage: (v) => {
    const root = v.split('.')[0] ?? v;
    return PY_PACKAGES[root] ?? root;
  },
  or: (v, fallback) => (v === '' ? (fallback ?? '') : v),
};

/** Single-quotes a value for bash: captures come from tool output and are never trusted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Fills `{name}` and `{name|transform}` (dirname, package, pypackage, or:default) from captures,
 * shell-quoted. Returns undefined when a placeholder has no value: the strategy does not apply.
 */
export function fillPlaceholders(template: string, captures: Record<string, string>): string | undefined {
  let missing = false;
  const filled = template.replace(/\{([a-z]+)(?:\|([a-z]+)(?::([^}]*))?)?\}/g, (_, name: string, transform?: string, arg?: string) => {
    let value = captures[name] ?? '';
    if (transform) {
      const fn = TRANSFORMS[transform];
      if (!fn) throw new Error(`unknown placeholder transform "${transform}"`);
      value = fn(value, arg);
    }
    if (value === '') missing = true;
    return shellQuote(value);
  });
  return missing ? undefined : filled;
}
