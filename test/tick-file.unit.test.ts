import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TasksFile } from '../src/tasklist/tick-file.ts';

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
