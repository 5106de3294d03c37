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
  /** `pkg/sub/mod.py` -> `pkg.sub.mod`: a file run as the module it is. */
  pymodule: (v) => v.replace(/^\.\//, '').replace(/\.py$/, '').replaceAll('/', '.'),
};

/** Single-quotes a value for bash: captures come from tool output and are never trusted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

const PLACEHOLDER = /\{([a-z]+)(?:\|([a-z]+)(?::([^}]*))?)?\}/g;

function transformed(captures: Record<string, string>, name: string, transform?: string, arg?: string): string {
  const value = captures[name] ?? '';
  if (!transform) return value;
  const fn = TRANSFORMS[transform];
  if (!fn) throw new Error(`unknown placeholder transform "${transform}"`);
  return fn(value, arg);
}

/** Fills placeholders in prose (a diagnosis): unquoted, and a missing value stays as written. */
export function fillText(template: string, captures: Record<string, string>): string {
  return template.replace(
    PLACEHOLDER,
    (whole, name: string, transform?: string, arg?: string) => transformed(captures, name, transform, arg) || whole,
  );
}

/**
 * Fills `{name}` and `{name|transform}` (dirname, package, pypackage, or:default) from captures,
 * shell-quoted. Returns undefined when a placeholder has no value: the strategy does not apply.
 */
export function fillPlaceholders(template: string, captures: Record<string, string>): string | undefined {
  let missing = false;
  const filled = template.replace(PLACEHOLDER, (_, name: string, transform?: string, arg?: string) => {
    const value = transformed(captures, name, transform, arg);
    if (value === '') missing = true;
    return shellQuote(value);
  });
  return missing ? undefined : filled;
}
