// Bundles the CLI into one CommonJS file, dist/cli/main.cjs (esbuild), so it starts without
// compiling TypeScript or resolving hundreds of small modules, and so that bin/implement-agent.js
// can run it with V8's code cache (see there). Each command's modules are still evaluated only
// when that command runs: esbuild keeps a dynamic import lazy inside one file.
// bin/implement-agent.js falls back to the sources through tsx when dist/ is stale or missing.
// Type checking is `npm run check`'s job, not this one's.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { sourceStamp } from './source-stamp.mjs';

const root = new URL('../', import.meta.url);
const stamp = sourceStamp(root);
rmSync(new URL('dist/', root), { recursive: true, force: true });
const built = await build({
  // usage.cjs: what --help and --version print, which the bin answers without reading main.cjs.
  entryPoints: {
    main: new URL('src/cli/main.ts', root).pathname,
    usage: new URL('src/cli/usage.ts', root).pathname,
  },
  outdir: new URL('dist/cli/', root).pathname,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less to read at every start (comments go too); names are kept, and the source map maps the
  // lines. ASCII only, so the bin reads it as Latin-1, a one-byte string, three times faster.
  minifyWhitespace: true,
  charset: 'ascii',
  logLevel: 'warning',
  metafile: true,
  // Modules find files beside themselves through import.meta.url: the bundle's own URL.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The bin runs the bundle from V8's code cache, where a dynamic import() has no loader: a
// built-in module wanted on demand is required instead (createRequire).
const kept = Object.values(built.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import'));
if (kept.length)
  throw new Error(`the bundle keeps a dynamic import() of ${kept.map((i) => i.path).join(', ')}: require it instead`);
// esbuild escapes what is not ASCII in strings, not in regular expressions: those are escaped in
// the sources, and this says where one was missed.
for (const name of ['main.cjs', 'usage.cjs']) {
  const bundle = readFileSync(new URL(`dist/cli/${name}`, root));
  const wide = bundle.findIndex((byte) => byte > 0x7f);
  if (wide >= 0)
    throw new Error(
      `dist/cli/${name} is not ASCII at byte ${wide}: ${bundle.subarray(Math.max(0, wide - 60), wide + 20).toString()}`,
    );
}
copyFileSync(new URL('src/recovery/patterns.json', root), new URL('dist/cli/patterns.json', root));
writeFileSync(new URL('dist/.build-stamp', root), stamp);
