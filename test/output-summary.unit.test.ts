import { describe, expect, it } from 'vitest';
import { meaningfulLine } from '../src/exec/output-summary.ts';

describe('meaningfulLine', () => {
  it('picks the error, not the trailer a tool prints after it', () => {
    const npm = [
      'npm error Missing script: "lint"',
      'npm error',
      'npm error To see a list of scripts, run:',
      'npm error   npm run',
      'npm error A complete log of this run can be found in: /h/.npm/_logs/2026-11-25T08_59_57_593Z-debug-0.log',
    ].join('\n');
    expect(meaningfulLine(npm)).toBe('npm error Missing script: "lint"');
    const node = "node:internal/modules/cjs/loader:1210\n  throw err;\n  ^\n\nError: Cannot find module 'left-pad'\nRequire stack:\n- /w/[eval]\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)\n{\n  code: 'MODULE_NOT_FOUND',\n  requireStack: [ '/w/[eval]' ]\n}\n\nNode.js v20.20.2\n";
    expect(meaningfulLine(node)).toBe("Error: Cannot find module 'left-pad'");
    expect(meaningfulLine("/usr/bin/ld: /tmp/cc.o: in function `main':\nm.c:(.text+0x23): undefined reference to `sqrt'\ncollect2: error: ld returned 1 exit status\n")).toBe("m.c:(.text+0x23): undefined reference to `sqrt'");
    expect(meaningfulLine("cp: missing destination file operand after 'a.txt'\nTry 'cp --help' for more information.\n")).toBe("cp: missing destination file operand after 'a.txt'");
    expect(meaningfulLine('tar (child): x.tgz: Cannot open: No such file or directory\ntar (child): Error is not recoverable: exiting now\ntar: Child returned status 2\ntar: Error is not recoverable: exiting now\n')).toBe('tar (child): x.tgz: Cannot open: No such file or directory');
  });

  it('falls back to the last line, and to stdout when stderr is empty', () => {
    expect(meaningfulLine('', 'building\n3 tests, 1 skipped\n')).toBe('3 tests, 1 skipped');
    expect(meaningfulLine('')).toBe('');
  });
});
