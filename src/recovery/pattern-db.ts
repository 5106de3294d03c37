import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { InputError } from '../errors.ts';
import { StrategyEffectSchema } from './effects.ts';
import { findMissingPath, type MissingPath } from './missing-path.ts';
import type { Failure } from '../events/failure.ts';

const StrategySchema = z
  .object({
    id: z.string().min(1),
    /** Declared probability of success: the prior the observed statistics start from. */
    prior: z.number().min(0).max(1),
    risk: z.enum(['low', 'medium', 'high']),
    /** What the fix does beyond the command itself; [] when it only changes how the command runs. */
    effects: z.array(StrategyEffectSchema),
    /** Run the original command again after the fix. */
    retry: z.boolean(),
    commands: z.array(z.string()),
    /** Needs root or system changes: offered only when the policy allows its commands. */
    privileged: z.boolean().optional(),
    /** The original command rewritten (regex find / replacement): run instead of a retry. */
    rewrite: z.array(z.object({ find: z.string(), replace: z.string() })).optional(),
  })
  .strict();
export type Strategy = z.infer<typeof StrategySchema>;

const ExampleSchema = z.object({
  command: z.string(),
  exitCode: z.number().int().nullable(),
  stderr: z.string(),
  stdout: z.string(),
  timedOut: z.boolean().optional(),
  captures: z.record(z.string(), z.string()).optional(),
});

const PatternSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    kind: z.enum(['fix', 'benign', 'escalate']),
    /** The one-line diagnosis; `{name}` is filled from the captures. */
    description: z.string(),
    /** What a person could run when no allowed strategy fixes it (shown in the reason). */
    suggest: z.string().optional(),
    /**
     * `benign` only: a check command (placeholders from the captures) that exits 0 when the state
     * shows the failed command's intent holds (`test -d {dir}`); the executor runs it like a
     * success criterion. A benign pattern without one is never benign.
     */
    holds: z.string().optional(),
    match: z
      .object({
        stderr: z.string().optional(),
        stdout: z.string().optional(),
        output: z.string().optional(),
        notOutput: z.string().optional(),
        command: z.string().optional(),
        exitCodes: z.array(z.number().int()).optional(),
        timedOut: z.boolean().optional(),
        /**
         * The output names a path the command itself creates (`created`: captures `file` and
         * `dir`, the folder to make) or reads (`read`: captures `file`), per the shell analysis.
         */
        path: z.enum(['created', 'read']).optional(),
      })
      .strict(),
    strategies: z.array(StrategySchema),
    examples: z.array(ExampleSchema).default([]),
  })
  .strict();
export type Pattern = z.infer<typeof PatternSchema>;

const PatternFileSchema = z.object({ version: z.literal(1), patterns: z.array(PatternSchema) });
export type PatternFile = z.infer<typeof PatternFileSchema>;

export type Match = { pattern: Pattern; captures: Record<string, string> };
type Example = z.infer<typeof ExampleSchema>;

/** A pattern file's example (written with `stdout`/`stderr`) as the failure it records. */
export const exampleFailure = (e: Example): Failure => ({
  command: e.command,
  exitCode: e.exitCode,
  timedOut: e.timedOut ?? false,
  stdoutTail: e.stdout,
  stderrTail: e.stderr,
});

type Compiled = {
  pattern: Pattern;
  stderr?: RegExp;
  stdout?: RegExp;
  output?: RegExp;
  notOutput?: RegExp;
  command?: RegExp;
};

/** The compiled pattern database: regexes built once, matched in declaration order. */
export class PatternDb {
  private readonly compiled: Compiled[];

  constructor(readonly file: PatternFile) {
    this.compiled = file.patterns.map((pattern) => compile(pattern));
  }

  get patterns(): readonly Pattern[] {
    return this.file.patterns;
  }

  /** Every pattern that matches, first declared first, with its named captures. */
  match(failure: Failure): Match[] {
    const output = `${failure.stdoutTail}\n${failure.stderrTail}`;
    const matches: Match[] = [];
    // The shell analysis runs once, and only if a pattern asks about paths.
    let missing: { found: MissingPath | undefined } | undefined;
    for (const c of this.compiled) {
      const m = c.pattern.match;
      if (m.timedOut !== undefined && m.timedOut !== failure.timedOut) continue;
      if (m.exitCodes && (failure.exitCode === null || !m.exitCodes.includes(failure.exitCode))) continue;
      if (c.notOutput?.test(output)) continue;
      const captures: Record<string, string> = {};
      if (m.path) {
        missing ??= { found: findMissingPath(failure.command, output) };
        const found = missing.found;
        if (found?.role !== m.path) continue;
        captures.file = found.path;
        if (found.role === 'created') captures.dir = found.folder;
      }
      const tests: [RegExp | undefined, string][] = [
        [c.stderr, failure.stderrTail],
        [c.stdout, failure.stdoutTail],
        [c.output, output],
        [c.command, failure.command],
      ];
      let ok = true;
      for (const [re, text] of tests) {
        if (!re) continue;
        const found = re.exec(text);
        if (!found) {
          ok = false;
          break;
        }
        for (const [k, v] of Object.entries(found.groups ?? {})) if (v !== undefined) captures[k] ??= v.trim();
      }
      if (ok) matches.push({ pattern: c.pattern, captures });
    }
    return matches;
  }

  static parse(raw: unknown, file: string): PatternDb {
    const parsed = PatternFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `at ${issue.path.join('.')}` : 'at its top';
      throw new InputError(
        `invalid pattern file ${where}: ${issue?.message} (a pattern file is {"version": 1, "patterns": [...]}; examples/patterns.json shows every field)`,
        { file },
      );
    }
    const ids = new Set<string>();
    for (const p of parsed.data.patterns) {
      if (ids.has(p.id)) throw new InputError(`duplicate pattern id ${p.id}`, { file });
      ids.add(p.id);
      try {
        compile(p);
      } catch (cause) {
        throw new InputError(`pattern ${p.id}: ${(cause as Error).message}`, { file }, { cause });
      }
    }
    return new PatternDb(parsed.data);
  }

  static async load(path: string): Promise<PatternDb> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (cause) {
      throw new InputError(`cannot load pattern file: ${(cause as Error).message}`, { file: path }, { cause });
    }
    return PatternDb.parse(raw, path);
  }
}

export const DEFAULT_PATTERNS_FILE = new URL('./patterns.json', import.meta.url).pathname;

function compile(pattern: Pattern): Compiled {
  const re = (source: string | undefined) => (source === undefined ? undefined : new RegExp(source, 'm'));
  const m = pattern.match;
  return {
    pattern,
    ...(m.stderr ? { stderr: re(m.stderr) } : {}),
    ...(m.stdout ? { stdout: re(m.stdout) } : {}),
    ...(m.output ? { output: re(m.output) } : {}),
    ...(m.notOutput ? { notOutput: re(m.notOutput) } : {}),
    ...(m.command ? { command: re(m.command) } : {}),
  };
}
