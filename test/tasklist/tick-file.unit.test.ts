import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TasksFile } from '../../src/tasklist/tick-file.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function file(text: string) {
  const dir = await mkdtemp(join(tmpdir(), 'ia-tick-'));
  dirs.push(dir);
  const path = join(dir, 'tasks.md');
  await writeFile(path, text);
  return path;
}

describe('ticking a tasks.md on disk', () => {
  it('writes one byte per tick in place, past multi-byte text, a BOM and CRLF line ends', async () => {
    const text = '\uFEFF# Tâches — plan\r\n- [ ] 1. Créer\r\n- [ ] 2. 实现\r\n1. [ ] Sans numéro\r\n';
    const path = await file(text);
    const tasks = new TasksFile(path);
    await tasks.tick([{ id: '2', line: 3 }]);
    await tasks.tick([
      { id: '1', line: 2 },
      { id: 'L4', line: 4 },
    ]);
    expect(await readFile(path, 'utf8')).toBe(text.replaceAll('[ ]', '[x]'));
  });

  it('keeps every byte of a file that is not UTF-8, in place and when the task moved', async () => {
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    // Latin-1 accents, a lone continuation byte and 0xFF: each would become U+FFFD (3 bytes) read as UTF-8.
    const bytes = Buffer.concat([
      latin1('# T\xe2ches \x80\xff\r\n'),
      latin1('- [ ] 1. Cr\xe9er\r\n'),
      latin1('- [ ] 2. \xe9t\xe9 \xff\n- [ ] 3. fin\n'),
    ]);
    const path = join(await mkdtemp(join(tmpdir(), 'ia-tick-')), 'tasks.md');
    dirs.push(join(path, '..'));
    await writeFile(path, bytes);
    const tasks = new TasksFile(path);
    await tasks.tick([{ id: '2', line: 3 }]);
    // A wrong line: found by reading the whole file, and written back byte for byte.
    await tasks.tick([{ id: '1', line: 9 }]);
    const ticked = Buffer.from(bytes);
    for (const at of [ticked.indexOf('- [ ] 1.') + 3, ticked.indexOf('- [ ] 2.') + 3]) ticked[at] = 'x'.charCodeAt(0);
    expect(await readFile(path)).toEqual(ticked);
  });

  it('finds a task whose line moved (the file was edited during the run) by reading the file, as the writer does', async () => {
    const path = await file('- [ ] 1. A\n- [ ] 2. B\n- [ ] 3. C\n');
    const tasks = new TasksFile(path);
    await tasks.tick([{ id: '1', line: 1 }]);
    await writeFile(path, '# Added by hand\n\n- [x] 1. A\n- [ ] 2. B\n- [ ] 3. C\n');
    await tasks.tick([{ id: '2', line: 2 }]);
    await tasks.tick([{ id: '3', line: 3 }]);
    expect(await readFile(path, 'utf8')).toBe(
      '# Added by hand\n\n- [x] 1. A\n- [x] 2. B\n- [ ] 3. C\n'.replace('- [ ] 3.', '- [x] 3.'),
    );
  });
});
