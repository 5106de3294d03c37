import { argumentsOf, findInvocation, outputOf, q, withProgram, type KindStrategy } from './kind.ts';
import type { Probe } from './probe.ts';

/** Which interpreter a script is for, by its extension. */
const INTERPRETERS: Record<string, string> = {
  py: 'python3',
  js: 'node',
  mjs: 'node',
  cjs: 'node',
  sh: 'bash',
  pl: 'perl',
};
const SHELLS = new Set(['bash', 'sh']);

type Format = 'zip' | 'gzip' | 'bzip2' | 'xz' | 'tar';

/** An archive's format by its first bytes, whatever its name says. */
function formatOf(probe: Probe, path: string): Format | undefined {
  const head = probe.head(path, 262);
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** How to unpack or decompress a file of each format (`tar x` of a compressed tarball, the format's own tool otherwise). */
function unpack(format: Format, file: string, tarball: boolean): string {
  switch (format) {
    case 'zip':
      return `unzip -q ${q(file)}`;
    case 'gzip':
      return tarball ? `tar xzf ${q(file)}` : `gunzip ${q(file)}`;
    case 'bzip2':
      return tarball ? `tar xjf ${q(file)}` : `bunzip2 ${q(file)}`;
    case 'xz':
      return tarball ? `tar xJf ${q(file)}` : `unxz ${q(file)}`;
    case 'tar':
      return `tar xf ${q(file)}`;
  }
}

const TARBALL = /\.(?:tar(?:\.\w+)?|tgz|tbz2?|txz)$/;

/**
 * The wrong program for the file: a script run with another language's interpreter, C++ compiled
 * by the C driver, an archive opened with the tool of another format. The file itself says which
 * (its extension for a script, its first bytes for an archive): the command again with the right one.
 */
export const wrongProgram: KindStrategy = (request, probe) => {
  const { command } = request;
  const out = outputOf(request);

  const script =
    /(?:^|[;&|(]\s*)(python3?|node|bash|sh|perl)\s+(?:-\S+\s+)*([\w./-]+\.(py|js|mjs|cjs|sh|pl))(?=\s|$)/.exec(command);
  if (script && probe.isFile(script[2]!)) {
    const [, given, file, ext] = script;
    const wanted = INTERPRETERS[ext!]!;
    const same =
      given === wanted || (SHELLS.has(given!) && SHELLS.has(wanted)) || (given === 'python' && wanted === 'python3');
    const fixed = !same && withProgram(command, given!.replaceAll('+', '\\+'), wanted);
    if (fixed)
      return {
        kind: 'wrong-program',
        variant: 'interpreter',
        diagnosis: `${file} is a ${wanted} script, run with ${given}`,
        commands: [fixed],
        retry: false,
      };
  }

  if (
    /undefined reference to [`']?(?:std::|operator new|__gxx_personality|vtable for)/.test(out) &&
    /\S+\.(?:cpp|cc|cxx|C)(?=\s|$)/.test(command)
  ) {
    const compiler = findInvocation(command, 'gcc|cc|clang');
    const fixed = compiler && withProgram(command, 'gcc|cc|clang', compiler.word.endsWith('clang') ? 'clang++' : 'g++');
    if (fixed)
      return {
        kind: 'wrong-program',
        variant: 'cxx-driver',
        diagnosis: 'C++ sources linked by the C compiler driver, without the C++ library',
        commands: [fixed],
        retry: false,
      };
  }

  for (const tool of ['tar', 'unzip', 'gunzip', 'gzip', 'bunzip2', 'unxz', 'xz']) {
    if (!findInvocation(command, tool)) continue;
    const args = argumentsOf(command, tool);
    if (tool === 'gzip' && !args.some((a) => /^-\w*d/.test(a))) continue;
    if (tool === 'tar' && !args.some((a) => /^-?\w*x/.test(a) && !a.startsWith('--'))) continue;
    // tar's old style puts its flags first without a dash (`tar xf a.tar`).
    const operands = args.filter(
      (a, i) => !a.startsWith('-') && !(tool === 'tar' && i === 0 && /^[A-Za-z]+$/.test(a) && !probe.isFile(a)),
    );
    const file = operands.find((a) => probe.isFile(a));
    const format = file && formatOf(probe, file);
    if (!file || !format) continue;
    const fits = {
      tar: ['tar', 'gzip', 'bzip2', 'xz'],
      unzip: ['zip'],
      gunzip: ['gzip'],
      gzip: ['gzip'],
      bunzip2: ['bzip2'],
      unxz: ['xz'],
      xz: ['xz'],
    }[tool]!;
    if (fits.includes(format)) continue;
    // Only a command that does nothing but unpack this one file is replaced.
    if (operands.length !== 1 || /[;&|]/.test(command.replace(/\s*>\s*\S+$/, ''))) continue;
    return {
      kind: 'wrong-program',
      variant: 'archive-format',
      diagnosis: `${file} is a ${format} file, not what ${tool} reads`,
      commands: [unpack(format, file, TARBALL.test(file) || tool === 'tar')],
      retry: false,
    };
  }
  return undefined;
};
