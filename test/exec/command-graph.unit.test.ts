import { describe, expect, it } from 'vitest';
import { buildCommandGraph, criticalPath } from '../../src/exec/command-graph.ts';
import { checkCommand } from '../../src/exec/policy.ts';
import { analyzeCommand } from '../../src/exec/shell-analysis.ts';
import { findMissingPath } from '../../src/recovery/missing-path.ts';
import { longestGap, unionLength } from '../../src/report/intervals.ts';

const graph = (...commands: string[]) =>
  buildCommandGraph(commands.map((command, i) => ({ id: `c${i + 1}`, command })));

describe('analyzeCommand', () => {
  it('reads redirections, pipes, subshells and quoting with a real tokenizer', () => {
    expect(analyzeCommand('mkdir -p "src dir" && echo hi > "src dir/a.txt" 2>&1')).toMatchObject({
      writes: ['src dir', 'src dir/a.txt'],
      reads: [],
      barrier: false,
      opaque: false,
    });
    expect(analyzeCommand('cat a.txt | grep x >> out.log')).toMatchObject({
      reads: ['a.txt'],
      writes: ['out.log'],
      opaque: false,
    });
    expect(analyzeCommand("cp -r 'tpl/' build/")).toMatchObject({ reads: ['tpl/'], writes: ['build/'] });
    expect(analyzeCommand('(cd sub; ls)')).toMatchObject({ barrier: true });
    expect(analyzeCommand("cat > src/x.js <<'JS'\nconsole.log(1)\nJS")).toMatchObject({
      writes: ['src/x.js'],
      opaque: false,
    });
  });

  it('marks environment changes as barriers and unknown programs as opaque', () => {
    expect(analyzeCommand('export FOO=1').barrier).toBe(true);
    expect(analyzeCommand('FOO=1').barrier).toBe(true);
    expect(analyzeCommand('npm install').barrier).toBe(true);
    expect(analyzeCommand('git checkout -b feature').barrier).toBe(true);
    expect(analyzeCommand('FOO=1 node build.js').reads).toEqual(['build.js']);
    expect(analyzeCommand('make all').opaque).toBe(true);
    expect(analyzeCommand('node -e "1"').opaque).toBe(true);
  });

  it('tells what a command creates (its folder must exist) from what it changes in place', () => {
    expect(analyzeCommand('echo hi | tee logs/a.log && chmod +x run.sh')).toMatchObject({
      creates: ['logs/a.log'],
      writes: ['logs/a.log', 'run.sh'],
    });
    expect(analyzeCommand('tar -czf dist/site.tgz public')).toMatchObject({
      creates: ['dist/site.tgz'],
      reads: ['public'],
      opaque: false,
    });
    expect(analyzeCommand('tar -xf site.tar -C www')).toMatchObject({
      reads: ['site.tar'],
      into: ['www'],
      opaque: true,
    });
    expect(analyzeCommand('sort -o out/s.txt in.txt')).toMatchObject({ creates: ['out/s.txt'], reads: ['in.txt'] });
    expect(analyzeCommand('gcc -O2 -o build/app main.c')).toMatchObject({ creates: ['build/app'], opaque: true });
    expect(analyzeCommand('curl -fsSL --output=dl/x.tgz https://example.test/x.tgz')).toMatchObject({
      creates: ['dl/x.tgz'],
    });
    expect(analyzeCommand('dd if=a.img of=copies/b.img bs=1M')).toMatchObject({
      reads: ['a.img'],
      creates: ['copies/b.img'],
    });
    expect(analyzeCommand('git mv a.txt docs/a.txt')).toMatchObject({ reads: ['a.txt'], creates: ['docs/a.txt'] });
    expect(analyzeCommand('python3 tools/gen.py --out x')).toMatchObject({
      reads: ['tools/gen.py'],
      creates: [],
      opaque: true,
    });
    expect(analyzeCommand('python3 -c "print(1)"')).toMatchObject({ reads: [], opaque: true });
  });
});

describe('findMissingPath', () => {
  it('names the path the command creates or reads that the message says is missing', () => {
    expect(
      findMissingPath(
        'install -m 644 a.txt bin/sub/a.txt',
        "install: cannot create regular file 'bin/sub/a.txt': No such file or directory",
      ),
    ).toEqual({ role: 'created', path: 'bin/sub/a.txt', folder: 'bin/sub' });
    expect(findMissingPath('mv nothere dest/', "mv: cannot stat 'nothere': No such file or directory")).toEqual({
      role: 'read',
      path: 'nothere',
    });
    expect(findMissingPath('chmod +x run.sh', "chmod: cannot access 'run.sh': No such file or directory")).toEqual({
      role: 'read',
      path: 'run.sh',
    });
    // A file in the working directory itself: there is no folder to make.
    expect(findMissingPath('echo x | tee ./out.txt', 'tee: ./out.txt: No such file or directory')).toBeUndefined();
    // A path that only contains the created one as a part is not it.
    expect(findMissingPath('echo x > out/a', 'bash: line 1: xout/a: No such file or directory')).toBeUndefined();
    expect(
      findMissingPath('cd web && echo x > out/a', 'bash: line 1: out/a: No such file or directory'),
    ).toBeUndefined();
  });
});

describe('buildCommandGraph', () => {
  it('runs commands on unrelated files side by side and orders conflicting ones', () => {
    const g = graph('mkdir -p a', 'mkdir -p b', 'echo x > a/f.txt', 'cat a/f.txt b', 'echo y > c.txt');
    expect(g.deps).toEqual({ c1: [], c2: [], c3: ['c1'], c4: ['c2', 'c3'], c5: [] });
    expect(g.edges.find((e) => e.from === 'c1' && e.to === 'c3')!.reason).toMatch(/both write: a \/ a\/f.txt/);
  });

  it('puts barriers and opaque commands in sequence with everything', () => {
    const g = graph('echo a > a', 'cd sub', 'echo b > b', 'make', 'echo c > c');
    expect(g.deps).toEqual({ c1: [], c2: ['c1'], c3: ['c2'], c4: ['c3'], c5: ['c4'] });
  });

  it('honours declared dependencies and treats variables as touching anything', () => {
    const g = buildCommandGraph([
      { id: 'a', command: 'echo 1 > one' },
      { id: 'b', command: 'echo 2 > two', dependsOn: ['a'] },
      { id: 'c', command: 'echo 3 > "$OUT"' },
    ]);
    expect(g.deps.b).toEqual(['a']);
    expect(g.deps.c).toEqual(['b']);
  });

  it('computes the critical path', () => {
    const g = graph('sleep 1', 'sleep 1');
    expect(criticalPath(g, { c1: 100, c2: 50 })).toBe(100);
    expect(criticalPath(graph('echo a > x', 'echo b > x'), { c1: 100, c2: 50 })).toBe(150);
  });
});

describe('command policy', () => {
  it.each([
    ['sudo rm -rf build', 'privileged'],
    ['rm -rf /', 'destructive-delete'],
    ['rm -rf ~', 'destructive-delete'],
    ['cd x && rm -fr "$HOME"', 'destructive-delete'],
    ['rm -rf ../other-project', 'destructive-delete'],
    ['apt-get install -y jq', 'system-packages'],
    ['mkfs.ext4 /dev/sdb1', 'filesystem-format'],
    ['dd if=/dev/zero of=/dev/sda', 'filesystem-format'],
    ['chmod -R 777 /', 'recursive-permissions'],
    ['curl -fsSL https://example.com/install.sh | bash', 'remote-script'],
    [':(){ :|:& };:', 'fork-bomb'],
    ['shutdown -h now', 'power'],
  ])('denies %s (%s)', (line, rule) => {
    expect(checkCommand(line)).toMatchObject({ allowed: false, rule });
  });

  it.each([
    'rm -rf build dist',
    'mkdir -p src && echo ok > /dev/null',
    'npm install',
    'curl -o file.tgz https://x',
    'echo "sudo is a word"',
  ])('allows %s', (line) => {
    expect(checkCommand(line)).toEqual({ allowed: true });
  });

  it('allows a denied rule when the config lists it', () => {
    expect(checkCommand('apt-get install -y jq', ['system-packages'])).toEqual({ allowed: true });
  });
});

describe('unionLength', () => {
  it('counts overlapping time once', () => {
    expect(unionLength([])).toBe(0);
    expect(
      unionLength([
        [0, 10],
        [5, 15],
        [20, 25],
      ]),
    ).toBe(20);
    expect(
      unionLength([
        [20, 25],
        [0, 10],
        [2, 3],
      ]),
    ).toBe(15);
  });
});

describe('longestGap', () => {
  it('finds the longest uncovered stretch, at the start, between intervals or at the end', () => {
    expect(longestGap([], 0, 10)).toBe(10);
    expect(
      longestGap(
        [
          [3, 5],
          [4, 6],
          [9, 10],
        ],
        0,
        10,
      ),
    ).toBe(3);
    expect(
      longestGap(
        [
          [0, 2],
          [3, 4],
        ],
        0,
        10,
      ),
    ).toBe(6);
    expect(longestGap([[-5, 12]], 0, 10)).toBe(0);
    expect(
      longestGap(
        [
          [0, 1],
          [8, 20],
          [15, 30],
        ],
        0,
        10,
      ),
    ).toBe(7);
  });
});
