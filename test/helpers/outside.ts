import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './nats.ts';

/** Folders a confined command sees as its own or empty: a canary there would prove nothing. */
const HIDDEN = ['/tmp', '/var/tmp', '/run', '/home', '/root', homedir()];
const hidden = (path: string) => HIDDEN.some((h) => path === h || path.startsWith(`${h}/`));

/**
 * A throwaway folder outside the working directory, visible (read-only) to a confined command:
 * in the repository's folder, or /var/lib when the clone itself lies in a hidden folder (/tmp).
 */
export function outsideFolder(prefix: string): Promise<string> {
  return mkdtemp(join(hidden(REPO_ROOT) ? '/var/lib' : REPO_ROOT, `.ia-test-${prefix}`));
}

/**
 * A gate a task waits on, outside its project: a task runs in a view of the project as it was
 * when it started (docs/isolation.md), so a file the test wrote into the project later is not seen.
 */
export async function gate() {
  const dir = await outsideFolder('gate-');
  return {
    dir,
    /** The shell loop a task's command waits in until `open()`. */
    wait: `while [ ! -e ${dir}/go ]; do sleep 0.05; done`,
    open: () => writeFile(join(dir, 'go'), ''),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
