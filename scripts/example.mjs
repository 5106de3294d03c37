// The quick start's first command: a fresh copy of the example, run end to end.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const work = `${root}.implement-agent/example`;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
cpSync(`${root}examples/greeter/tasks.md`, `${work}/tasks.md`);
const result = spawnSync(
  process.execPath,
  [`${root}bin/implement-agent.js`, 'run', `${work}/tasks.md`, '--workdir', work, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    cwd: root,
  },
);
if (result.status === 0) console.log(`\nthe example was built in ${work} (tasks.md there is ticked)`);
process.exit(result.status ?? 1);
