import { folderOf, outputOf, q, unique, withArgument, withEnvironment, type KindStrategy } from './kind.ts';

/**
 * A search path not set for a file that exists elsewhere in the tree: a header in `include/`, a
 * Python package under `src/`, a Node module in `lib/`, a Java class under `out/`. Only when the
 * file is in exactly one folder (not the working directory itself): the flag or variable that
 * adds that folder to the tool's search path.
 */
export const searchPath: KindStrategy = (request, probe) => {
  const out = outputOf(request);
  const { command } = request;
  const only = (asked: string, found: string[]) => {
    const dirs = unique(found.map((f) => folderOf(f, asked)));
    return dirs.length === 1 && dirs[0] !== '' ? dirs[0] : undefined;
  };

  const header = /fatal error: ([\w./+-]+\.(?:h|hh|hpp|hxx|H)): No such file or directory/.exec(out)?.[1];
  if (header) {
    const dir = only(header, probe.findEnding(header));
    const fixed = dir && withArgument(command, String.raw`gcc|g\+\+|cc|c\+\+|clang|clang\+\+`, `-I${q(dir)}`);
    if (fixed)
      return {
        kind: 'search-path',
        variant: 'include-dir',
        diagnosis: `${header} is in ${dir}/, which is not on the compiler's include path`,
        commands: [fixed],
        retry: false,
      };
  }

  const pyModule = /ModuleNotFoundError: No module named '([\w.]+)'/.exec(out)?.[1];
  if (pyModule) {
    const top = pyModule.split('.')[0]!;
    const dir =
      only(`${top}/__init__.py`, probe.findEnding(`${top}/__init__.py`)) ??
      only(`${top}.py`, probe.findEnding(`${top}.py`));
    const fixed = dir && withEnvironment(command, String.raw`python3?(?:\.\d+)?`, 'PYTHONPATH', dir);
    if (fixed)
      return {
        kind: 'search-path',
        variant: 'pythonpath',
        diagnosis: `the Python package ${top} is in ${dir}/, which is not on PYTHONPATH`,
        commands: [fixed],
        retry: false,
      };
  }

  const nodeModule = /Cannot find module '([^'./][^']*)'/.exec(out)?.[1];
  if (nodeModule && !nodeModule.startsWith('node:')) {
    const candidates = [`${nodeModule}.js`, `${nodeModule}/index.js`, `${nodeModule}/package.json`];
    const found = candidates.flatMap((c) => probe.findEnding(c).map((f) => folderOf(f, c)));
    const dirs = unique(found);
    const dir = dirs.length === 1 && dirs[0] !== '' ? dirs[0] : undefined;
    const fixed = dir && withEnvironment(command, 'node', 'NODE_PATH', dir);
    if (fixed)
      return {
        kind: 'search-path',
        variant: 'node-path',
        diagnosis: `the module ${nodeModule} is in ${dir}/, which is not on NODE_PATH`,
        commands: [fixed],
        retry: false,
      };
  }

  const javaClass = /Could not find or load main class ([\w.$]+)/.exec(out)?.[1];
  if (javaClass) {
    const file = `${javaClass.replaceAll('.', '/')}.class`;
    const dir = only(file, probe.findEnding(file));
    const fixed = dir && withArgument(command, 'java', `-cp ${q(dir)}`);
    if (fixed)
      return {
        kind: 'search-path',
        variant: 'class-path',
        diagnosis: `the class ${javaClass} is in ${dir}/, which is not on the class path`,
        commands: [fixed],
        retry: false,
      };
  }
  return undefined;
};
