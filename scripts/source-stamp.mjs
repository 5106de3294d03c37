// What the compiled dist/ was built from: the newest modification time and the number of files
// under src/. The CLI runs dist/ only when this still matches, so an edit is never run stale.
import { readdirSync, statSync } from 'node:fs';

/** @param {URL} root @returns {string} the stamp, as written to dist/.build-stamp */
export function sourceStamp(root) {
  let newest = 0;
  let count = 0;
  for (const entry of readdirSync(new URL('src/', root), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    count++;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return `${newest} ${count}`;
}
