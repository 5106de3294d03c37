import { readdir, writeFile } from 'node:fs/promises';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeSteps, serialized } from '../../src/workspace/merge.ts';
import { viewChanges } from '../../src/workspace/view-changes.ts';
import { discardView, openView } from '../../src/workspace/view.ts';

/**
 * An executor's merges in a process of its own (test/workspace/merge-lock.int.test.ts): `rounds` views of
 * `workdir`, each writing one file, merged one after the other under the lock of `stateDir`.
 * Inside the lock a marker file is made with O_EXCL, so two holders at once is an error the test
 * sees. `hold` takes the lock, says `inside` and keeps it until killed. Its run is `name`.
 */
const [workdir, stateDir, name, mode] = process.argv.slice(2) as [string, string, string, string];
const marker = join(stateDir, 'inside');

if (mode === 'hold') {
  await serialized(
    workdir,
    async () => {
      process.stdout.write('inside\n');
      await new Promise(() => undefined);
    },
    stateDir,
  );
}
for (let i = 0; i < Number(mode); i++) {
  const dir = join(stateDir, 'views', name, String(i));
  const view = await openView(workdir, dir);
  await writeFile(join(view.root, `${name}-${i}.txt`), `${name} ${i}\n`);
  const { steps } = viewChanges(view, [], 1 << 20);
  await view.close();
  const outcome = await serialized(
    workdir,
    async () => {
      writeFileSync(marker, name, { flag: 'wx' });
      const merged = await mergeSteps(workdir, steps, {
        startedNs: view.startedNs,
        since: 0,
        who: `task ${i}`,
        runId: name,
        stateDir,
      });
      await readdir(workdir);
      unlinkSync(marker);
      return merged;
    },
    stateDir,
  );
  await discardView(dir);
  if (!outcome.merged) throw new Error(`${name} ${i}: a conflict`);
}
process.stdout.write('done\n');
