// Bundles the CLI into dist/cli (esbuild, split at each command's dynamic import) so it starts
// without compiling TypeScript and without resolving hundreds of small modules at run time;
// bin/implement-agent.js falls back to the sources through tsx when dist/ is stale or missing.
// Type checking is `npm run check`'s job, not this one's.
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { sourceStamp } from './source-stamp.mjs';

const root = new URL('../', import.meta.url);
const stamp = sourceStamp(root);
rmSync(new URL('dist/', root), { recursive: true, force: true });
await build({
  entryPoints: [new URL('src/cli/main.ts', root).pathname],
  outdir: new URL('dist/cli/', root).pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS packages (shell-quote, ignore) call require.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
// Modules find these beside themselves (import.meta.url): every chunk lives in dist/cli.
copyFileSync(new URL('src/recovery/patterns.json', root), new URL('dist/cli/patterns.json', root));
writeFileSync(new URL('dist/.build-stamp', root), stamp);
