import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceStamp } from '../../scripts/source-stamp.mjs';
import { CLI } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

const bundleIsCurrent = (() => {
  try {
    return readFileSync(join(REPO_ROOT, 'dist/.build-stamp'), 'utf8') === sourceStamp(new URL(`file://${REPO_ROOT}/`));
  } catch {
    return false;
  }
})();

// A word of its own: no other test starts the CLI under it, so no other test writes this file;
// letters of this run's own, so a second copy of the suite in this checkout writes another.
const COMMAND = `cachecheck${randomBytes(6)
  .toString('hex')
  .replace(/\d/g, (d) => 'ghijklmnop'[Number(d)]!)}`;
const cacheFile = join(REPO_ROOT, `dist/cli/v8-cache/${COMMAND}-${process.version}-${process.arch}.bin`);
const start = () => execa(process.execPath, [CLI, COMMAND], { reject: false });
const header = (bytes: Buffer) => ({ bytecode: Number(bytes.readBigUInt64LE(0)), sum: bytes.readUInt32LE(8) });

// `npm test` builds first; a bundle older than the sources is not run at all (the sources are, through tsx).
describe.skipIf(!bundleIsCurrent)('the bundle started with V8 code cache', () => {
  afterAll(() => rm(cacheFile, { force: true }));
  it('writes a command’s cache once, reads it back, and replaces a damaged or too small one', async () => {
    await rm(cacheFile, { force: true });
    const first = await start();
    expect(first.exitCode).toBe(2);
    expect(first.stderr).toMatch(/unknown command/);
    const written = await readFile(cacheFile);
    expect(header(written).bytecode).toBeGreaterThan(0);
    const { mtimeMs } = await stat(cacheFile);

    // Accepted: the same answer, and the file left as it was.
    const second = await start();
    expect({ code: second.exitCode, stderr: second.stderr }).toEqual({ code: first.exitCode, stderr: first.stderr });
    expect((await stat(cacheFile)).mtimeMs).toBe(mtimeMs);
    expect(await readFile(cacheFile)).toEqual(written);

    // Damaged in the middle of V8's data (which V8 itself would have crashed on): ignored, then written again.
    const damaged = Buffer.from(written);
    for (let i = 0; i < 64; i++) damaged[Math.floor(damaged.length / 2) + i]! ^= 0xff;
    await writeFile(cacheFile, damaged);
    const third = await start();
    expect({ code: third.exitCode, stderr: third.stderr }).toEqual({ code: first.exitCode, stderr: first.stderr });
    const rewritten = await readFile(cacheFile);
    expect(rewritten.equals(damaged)).toBe(false);
    expect(header(rewritten).bytecode).toBeGreaterThan(0);

    // Written by a start that compiled much less than this one: replaced by this one's.
    const small = Buffer.from(rewritten);
    small.writeBigUInt64LE(1n, 0);
    await writeFile(cacheFile, small);
    await start();
    expect(header(await readFile(cacheFile)).bytecode).toBeGreaterThan(1);
  });
});
