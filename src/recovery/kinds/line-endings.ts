import { outputOf, q, type KindStrategy } from './kind.ts';
import type { Probe } from './probe.ts';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The script a command runs: `bash x.sh`, `sh x.sh`, `./x.py` (with the interpreter its first line names). */
function scriptRun(command: string, probe: Probe): { text: string; interpreter: string; file: string } | undefined {
  const viaShell = /(?:^|[;&|(]\s*)(bash|sh|zsh|python3?|node|perl)\s+([\w./-]+)(?=\s|$)/.exec(command);
  if (viaShell && probe.isFile(viaShell[2]!))
    return { text: viaShell[0].replace(/^[;&|(]\s*/, ''), interpreter: viaShell[1]!, file: viaShell[2]! };
  const direct = /(?:^|[;&|(]\s*)(\.{1,2}\/[\w./-]+)(?=\s|$)/.exec(command);
  if (!direct || !probe.isFile(direct[1]!)) return undefined;
  const first =
    probe
      .head(direct[1]!, 256)
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)[0] ?? '';
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  const interpreter = shebang ? (shebang[1]!.endsWith('/env') ? shebang[2] : shebang[1]) : 'bash';
  return interpreter ? { text: direct[1]!, interpreter, file: direct[1]! } : undefined;
}

/**
 * An encoding mark or line ending the interpreter does not expect: a script saved with CRLF line
 * ends (bash sees `$'\r'` in its words), a script that starts with a UTF-8 byte-order mark (the
 * kernel no longer sees its `#!`). The script is run as its text without them, and the file is
 * left as the user wrote it.
 */
export const lineEndings: KindStrategy = (request, probe) => {
  const out = outputOf(request);
  const run = scriptRun(request.command, probe);
  if (!run) return undefined;
  const head = probe.head(run.file, 4096);
  const replace = (cleaned: string) => request.command.replace(run.text, `${run.interpreter} <(${cleaned})`);
  if (head.subarray(0, 3).equals(BOM)) {
    return {
      kind: 'line-endings',
      variant: 'byte-order-mark',
      diagnosis: `${run.file} starts with a UTF-8 byte-order mark`,
      commands: [replace(`sed '1s/^\\xEF\\xBB\\xBF//' ${q(run.file)}`)],
      retry: false,
    };
  }
  if (head.includes('\r\n') && /\$'[^']*\\r'|\r': command not found|'\$'\\r'/.test(out)) {
    return {
      kind: 'line-endings',
      variant: 'crlf',
      diagnosis: `${run.file} has Windows (CRLF) line endings`,
      commands: [replace(`tr -d '\\r' < ${q(run.file)}`)],
      retry: false,
    };
  }
  return undefined;
};
