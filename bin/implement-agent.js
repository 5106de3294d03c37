#!/usr/bin/env node
// Runs the bundled CLI (dist/, `npm run build`, done by `npm ci`) when it was built from the
// sources as they are now; otherwise the TypeScript sources through tsx, so an edit is never run
// stale and there is no build step to forget, only a slower start.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapCodeStatistics, setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';
import { sourceStamp } from '../scripts/source-stamp.mjs';

const root = new URL('../', import.meta.url);
function builtFromCurrentSources() {
  try {
    return readFileSync(new URL('dist/.build-stamp', root), 'utf8') === sourceStamp(root);
  } catch {
    return false;
  }
}

/** Bytecode in the heap now: how much of the CLI this process has compiled. */
const bytecode = () => getHeapCodeStatistics().bytecode_and_metadata_size;

/**
 * A cache file: the bytecode its writer had compiled (8 bytes), the CRC-32 of the data (4 bytes),
 * then V8's code cache. V8 checks that the data belongs to this source and this V8, but not that
 * it is intact: a damaged file crashed node. So the sum is checked first, and a file that fails
 * it is ignored (and written again).
 */
const HEAD = 12;

/** @param {string} file @returns {{ bytecode: number, data: Buffer } | undefined} */
function readCache(file) {
  try {
    const bytes = readFileSync(file);
    if (bytes.length <= HEAD || crc32(bytes.subarray(HEAD)) !== bytes.readUInt32LE(8)) return undefined;
    return { bytecode: Number(bytes.readBigUInt64LE(0)), data: bytes.subarray(HEAD) };
  } catch {
    return undefined;
  }
}

/** @param {string} file @param {Buffer} data @param {number} compiled */
function writeCache(file, data, compiled) {
  const head = Buffer.alloc(HEAD);
  head.writeBigUInt64LE(BigInt(compiled));
  head.writeUInt32LE(crc32(data), 8);
  mkdirSync(dirname(file), { recursive: true });
  // Written whole, then renamed: a start at the same moment reads the old file or the new one.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, Buffer.concat([head, data]));
  renameSync(partial, file);
}

/**
 * Runs dist/cli/main.cjs with V8's code cache. What a command compiled is stored at its exit
 * (dist/cli/v8-cache, one file per command and Node version) and read back by the next start of
 * that command, which then compiles only what it reaches anew. Node 20 has no compile cache for
 * modules of its own, and compiling was about 150 of a one-task run's 430 ms. The cache is
 * written again when a start went through much more code than the one that wrote it (a first
 * run that had nothing to do, then a real one), or when V8 refuses it (another V8). A cache that
 * cannot be written (an installation this user may not write to) is simply not kept.
 */
function runBundle() {
  const file = fileURLToPath(new URL('dist/cli/main.cjs', root));
  const command = /^[a-z]+$/.test(process.argv[2] ?? '') ? process.argv[2] : 'main';
  const cacheFile = fileURLToPath(new URL(`dist/cli/v8-cache/${command}-${process.version}-${process.arch}.bin`, root));
  // zlib.crc32 came with Node 20.15: without it, no cache.
  const cache = typeof crc32 === 'function' ? readCache(cacheFile) : undefined;
  // The CommonJS module wrapper, as Node's own loader writes it. The bundle is ASCII (the build
  // checks), so Latin-1 reads it as it is, faster than UTF-8.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`;
  // No dynamic import() may be left in the bundle (scripts/build.mjs refuses one): a script
  // compiled from a code cache has no loader for it.
  const script = new Script(source, { filename: file, ...(cache ? { cachedData: cache.data } : {}) });
  if (typeof crc32 === 'function')
    process.once('exit', () => {
      const compiled = bytecode();
      if (cache && !script.cachedDataRejected && compiled < cache.bytecode * 1.2) return;
      try {
        writeCache(cacheFile, script.createCachedData(), compiled);
      } catch {
        // not writable here: the next start compiles again
      }
    });
  const module = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vm gives `any`: it is the wrapper above
  const run = /** @type {(...args: unknown[]) => void} */ (script.runInThisContext());
  run(module.exports, createRequire(file), module, file, dirname(file));
}

// V8 lets the old generation grow to up to four times what survived a full collection before it
// collects again: a long run's resident memory grew to 1.6 times a short one's (207 against 129
// MiB, 1,600 tasks against 100) with its live data flat at 26-29 MiB. Growing by half instead
// held it at 154 against 125 MiB for the same wall time.
setFlagsFromString('--heap-growing-percent=50');
if (builtFromCurrentSources()) {
  // Help and --version from their own small bundle: no need to read the whole CLI for them.
  /** @typedef {{ helpFor(args: string[]): { text: string, code: number } | undefined }} Usage */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- require gives `any`: it is usage.ts
  const usage = /** @type {Usage} */ (createRequire(import.meta.url)('../dist/cli/usage.cjs'));
  const help = usage.helpFor(process.argv.slice(2));
  if (help) {
    process.stdout.write(`${help.text}\n`);
    process.exitCode = help.code;
  } else runBundle();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
