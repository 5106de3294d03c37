import { findInvocation, outputOf, type KindStrategy } from './kind.ts';

/**
 * An option spelled the way another implementation spells it (BSD and macOS tools run with
 * GNU's here): the tool refuses it, and the GNU spelling of the same thing is known. One row per
 * spelling; each applies only when that tool is the one that complained.
 */
const SPELLINGS: { tool: string; complaint: RegExp; find: RegExp; replace: string; says: string }[] = [
  {
    tool: 'find',
    complaint: /find: paths must precede expression: .?\d/,
    find: /(\bfind\b[^;&|]*?)\s-depth\s+(\d+)/,
    replace: '$1 -mindepth $2 -maxdepth $2',
    says: 'BSD find -depth N is GNU -mindepth N -maxdepth N',
  },
  {
    tool: 'tail',
    complaint: /tail: invalid option -- '?r/,
    find: /\btail\s+-r\b/,
    replace: 'tac',
    says: 'BSD tail -r (reverse) is tac',
  },
  {
    tool: 'mktemp',
    complaint: /mktemp: too few X's in template/,
    find: /\bmktemp(\s+-[a-zA-Z]*t[a-zA-Z]*)\s+([\w.-]+?)(?=\s|$)/,
    replace: 'mktemp$1 $2.XXXXXX',
    says: 'BSD mktemp -t takes a prefix; GNU wants a template with XXXXXX',
  },
  {
    tool: 'xargs',
    complaint: /xargs: invalid option -- '?J/,
    find: /\bxargs(\s+(?:-\w+\s+)*)-J\s*(\S+)/,
    replace: 'xargs$1-I $2',
    says: 'BSD xargs -J R is GNU -I R',
  },
  {
    tool: 'sysctl',
    complaint: /sysctl: cannot stat \/proc\/sys\/hw\/ncpu/,
    find: /\bsysctl\s+-n\s+hw\.ncpu\b/,
    replace: 'nproc',
    says: 'the number of CPUs is nproc here',
  },
  {
    tool: 'readlink',
    complaint: /readlink: illegal option|readlink: invalid option/,
    find: /\bgreadlink\b/,
    replace: 'readlink',
    says: 'greadlink is readlink here',
  },
  {
    tool: 'sed',
    complaint: /sed: -e expression #\d+, char \d+: unknown command: `\\'/,
    find: /\bsed\s+-i\s+''\s+/,
    replace: 'sed -i ',
    says: "BSD sed -i '' is GNU sed -i",
  },
];

export const optionDialect: KindStrategy = (request) => {
  const out = outputOf(request);
  for (const s of SPELLINGS) {
    if (!s.complaint.test(out) || !findInvocation(request.command, s.tool) || !s.find.test(request.command)) continue;
    const fixed = request.command.replace(s.find, s.replace);
    if (fixed !== request.command)
      return { kind: 'option-dialect', variant: s.tool, diagnosis: s.says, commands: [fixed], retry: false };
  }
  return undefined;
};
