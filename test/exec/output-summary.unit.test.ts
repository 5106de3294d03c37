import { describe, expect, it } from 'vitest';
import { meaningfulLine } from '../../src/exec/output-summary.ts';

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
    const node =
      "node:internal/modules/cjs/loader:1210\n  throw err;\n  ^\n\nError: Cannot find module 'left-pad'\nRequire stack:\n- /w/[eval]\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)\n{\n  code: 'MODULE_NOT_FOUND',\n  requireStack: [ '/w/[eval]' ]\n}\n\nNode.js v20.20.2\n";
    expect(meaningfulLine(node)).toBe("Error: Cannot find module 'left-pad'");
    expect(
      meaningfulLine(
        "/usr/bin/ld: /tmp/cc.o: in function `main':\nm.c:(.text+0x23): undefined reference to `sqrt'\ncollect2: error: ld returned 1 exit status\n",
      ),
    ).toBe("m.c:(.text+0x23): undefined reference to `sqrt'");
    expect(
      meaningfulLine("cp: missing destination file operand after 'a.txt'\nTry 'cp --help' for more information.\n"),
    ).toBe("cp: missing destination file operand after 'a.txt'");
    expect(
      meaningfulLine(
        'tar (child): x.tgz: Cannot open: No such file or directory\ntar (child): Error is not recoverable: exiting now\ntar: Child returned status 2\ntar: Error is not recoverable: exiting now\n',
      ),
    ).toBe('tar (child): x.tgz: Cannot open: No such file or directory');
  });

  it("passes over Rust backtraces and trailers, Maven's footer and javac's count (as they print here)", () => {
    const rustup = [
      "error: rustup could not choose a version of cargo to run, because one wasn't specified explicitly, and no default is configured.",
      "help: run 'rustup default stable' to download the latest stable release of Rust and set it as your default toolchain.",
      '',
      'Stack backtrace:',
      '   0: anyhow::error::<impl core::convert::From<E> for anyhow::Error>::from',
      '   1: rustup::config::no_toolchain_error',
      '   2: rustup::config::Cfg::local_toolchain::{{closure}}',
      '  11: __libc_start_call_main',
    ].join('\n');
    expect(meaningfulLine(rustup)).toMatch(/^error: rustup could not choose a version of cargo/);
    const cargo =
      '   Compiling bad v0.1.0 (/w/bad)\nerror[E0308]: mismatched types\n --> src/main.rs:1:26\n  |\n1 | fn main() { let x: i32 = "s"; }\n  |                    ---   ^^^ expected `i32`, found `&str`\n\nFor more information about this error, try `rustc --explain E0308`.\nerror: could not compile `bad` (bin "bad") due to 1 previous error\n';
    expect(meaningfulLine(cargo)).toBe('error[E0308]: mismatched types');
    const maven = [
      '[ERROR] The goal you specified requires a project to execute but there is no POM in this directory (/w). Please verify you invoked Maven from the correct directory. -> [Help 1]',
      '[ERROR] ',
      '[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.',
      '[ERROR] Re-run Maven using the -X switch to enable full debug logging.',
      '[ERROR] For more information about the errors and possible solutions, please read the following articles:',
      '[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/MissingProjectException',
    ].join('\n');
    expect(meaningfulLine('', maven)).toMatch(/^\[ERROR\] The goal you specified requires a project/);
    expect(
      meaningfulLine(
        'B.java:1: error: cannot find symbol\npublic class B { void f() { g(); } }\n                            ^\n  symbol:   method g()\n  location: class B\n1 error\n',
      ),
    ).toBe('B.java:1: error: cannot find symbol');
  });

  it('falls back to the last line, and to stdout when stderr is empty', () => {
    expect(meaningfulLine('', 'building\n3 tests, 1 skipped\n')).toBe('3 tests, 1 skipped');
    expect(meaningfulLine('')).toBe('');
  });
});
