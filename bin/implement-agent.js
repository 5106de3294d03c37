#!/usr/bin/env node
// Runs the bundled CLI (dist/, `npm run build`, done by `npm ci`) when it was built from the
// sources as they are now; otherwise the TypeScript sources through tsx, so an edit is never run
// stale and there is no build step to forget, only a slower start.
import { readFileSync } from 'node:fs';
import { sourceStamp } from '../scripts/source-stamp.mjs';

const root = new URL('../', import.meta.url);
function builtFromCurrentSources() {
  try {
    return readFileSync(new URL('dist/.build-stamp', root), 'utf8') === sourceStamp(root);
  } catch {
    return false;
  }
}

if (builtFromCurrentSources()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
