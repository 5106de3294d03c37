import { outputOf, q, type KindStrategy } from './kind.ts';

/** Programs whose `-word` argument is taken for options when it is a file's name. */
const FILE_TOOLS = /(?:^|[;&|(]\s*)(rm|touch|cat|cp|mv|ls|mkdir|wc|head|tail|chmod|less|more|stat|file)\s/;

/**
 * A name quoted or escaped the wrong way: a file name with spaces left unquoted (the tool looks
 * for its pieces, and the whole name exists), a file name that starts with `-` (the tool reads
 * it as options; `./-name` is the file, as coreutils itself suggests).
 */
export const quoting: KindStrategy = (request, probe) => {
  const { command } = request;
  const out = outputOf(request);

  if (/No such file or directory|cannot stat|cannot access/.test(out)) {
    const words = [...command.matchAll(/[^\s'"\\;&|<>()]+/g)];
    for (let i = 0; i < words.length; i++) {
      for (let n = 4; n >= 2; n--) {
        const run = words.slice(i, i + n);
        if (run.length < n) continue;
        const start = run[0]!.index;
        const end = run.at(-1)!.index + run.at(-1)![0].length;
        const text = command.slice(start, end);
        // Single spaces between the pieces, and the whole name exists while its first piece does not.
        if (!/^\S+(?: \S+)+$/.test(text)) continue;
        const name = text.replace(/\/$/, '');
        if ((probe.isFile(name) || probe.isDir(name)) && !probe.isFile(run[0]![0]) && !probe.isDir(run[0]![0])) {
          const fixed = `${command.slice(0, start)}${q(name)}${text.endsWith('/') ? '/' : ''}${command.slice(end)}`;
          return {
            kind: 'quoting',
            variant: 'spaces',
            diagnosis: `"${name}" is one file name with spaces, left unquoted`,
            commands: [fixed],
            retry: false,
          };
        }
      }
    }
  }

  const option = /invalid option -- '?(\S)/.exec(out)?.[1];
  const tool = FILE_TOOLS.exec(command);
  if (option && tool) {
    const dashed = [...command.matchAll(/(?<=\s)-(?!-)([\w][\w.@+-]*)(?=\s|$)/g)].find(
      (m) => m[1]!.startsWith(option) && (/\.\w+$/.test(m[1]!) || probe.isFile(`-${m[1]}`)),
    );
    if (dashed) {
      const name = `-${dashed[1]}`;
      const fixed = `${command.slice(0, dashed.index)}./${name}${command.slice(dashed.index + name.length)}`;
      return {
        kind: 'quoting',
        variant: 'leading-dash',
        diagnosis: `${name} is a file name that starts with -, read as options`,
        commands: [fixed],
        retry: false,
      };
    }
  }
  return undefined;
};
