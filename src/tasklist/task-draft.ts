import type { SuccessCriterion } from './success-criterion.ts';
import { DEPENDS_CONNECTORS, NO_DEPENDENCIES, readField } from './field-names.ts';
import { parseRequirementRefs } from './requirement-refs.ts';
import { DEPENDABLE_ID, SITE_NAME, type TaskSpec } from './task-spec.ts';

/** A task while its file is read: where it sits, its Spec Kit `[P]` marker, its number as written. */
export type Draft = TaskSpec & {
  indent: number;
  parallel: boolean;
  section: number;
  number?: string;
  dependsLine?: number;
};
/** Ends the read with an InputError naming the file and `line`. */
export type Fail = (line: number, message: string) => never;

/** What a bullet under a task adds to it: a field (requirements, depends, site, needs, success), else a line of description. */
export function readBullet(task: Draft, text: string, lineNo: number, fail: Fail) {
  // Spec-driven tools write `_Requirements: 1.1, 2.3_` and `**Validates: Requirements 1.2**`;
  // the underscores and asterisks are emphasis only.
  const unwrapped = text.replace(/^(\*\*|__|_|\*)(.*)\1$/, '$2').trim();
  const found = readField(unwrapped);
  if (!found) {
    task.description.push(text);
    return;
  }
  const { field, value } = found;
  if (field === 'requirements' || field === 'validates') {
    task.requirements.push(...parseRequirementRefs(value).filter((r) => !task.requirements.includes(r)));
    if (field === 'validates') task.description.push(text);
  } else if (field === 'depends') {
    // People write `Depends: 1.1, 1.2`, `Depends on: tasks 1.1 and 1.2`, `Depends: 2 & 3`, `Blocked by: Task 1`.
    const ids = NO_DEPENDENCIES.test(value)
      ? []
      : value
          // \u3001 \u3002 \uff0c: the ideographic comma, full stop and fullwidth comma.
          .split(/[,;\s\u3001\uff0c]+/)
          .map((s) => s.trim().replace(/[.\u3002]$/, ''))
          .filter((s) => s !== '' && !DEPENDS_CONNECTORS.test(s));
    for (const id of ids) {
      if (!DEPENDABLE_ID.test(id)) fail(lineNo, `Depends: "${id}" is not a task number`);
    }
    task.depends = [...(task.depends ?? []), ...ids];
    task.dependsLine = lineNo;
  } else if (field === 'site') {
    if (!SITE_NAME.test(value)) fail(lineNo, `Site: "${value}" is not a site name (letters, digits, _ and -)`);
    task.site = value;
  } else if (field === 'needs') {
    const labels = value.split(/[,\s]+/).filter((l) => l !== '');
    task.needs = [...new Set([...(task.needs ?? []), ...labels])];
  } else {
    for (const part of splitOutsideBackticks(value, ';')) {
      const criterion = parseCriterion(part);
      if (criterion) task.success.push(criterion);
      else {
        // Words: for the planner to turn into a check; a command in backticks in them is one already.
        task.criteria.push(part);
        task.success.push(...commandsIn(part).map((command) => ({ kind: 'command' as const, command, exitCode: 0 })));
      }
    }
  }
}

/** Backticked spans of prose that read as commands (a program and its arguments), not as a file or a name. */
function commandsIn(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim()).filter((c) => /^[\w./-]+\s+\S/.test(c));
}

function splitOutsideBackticks(value: string, separator: string): string[] {
  const parts: string[] = [];
  let inTicks = false;
  let part = '';
  for (const ch of value) {
    if (ch === '`') inTicks = !inTicks;
    if (ch === separator && !inTicks) {
      parts.push(part);
      part = '';
    } else {
      part += ch;
    }
  }
  parts.push(part);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/**
 * The machine forms of a success criterion: `file PATH exists`, `` `cmd` exits N ``,
 * `` `cmd` outputs TEXT `` (and exits N), `` `cmd` ``; undefined for anything else (a criterion in words).
 */
export function parseCriterion(text: string): SuccessCriterion | undefined {
  const file = /^file\s+`?([^`\s]+)`?\s+exists$/i.exec(text);
  if (file) return { kind: 'file_exists', path: file[1]! };
  const exits = /^`([^`]+)`\s+exits\s+(\d+)$/i.exec(text);
  if (exits) return { kind: 'command', command: exits[1]!, exitCode: Number(exits[2]) };
  const outputs = outputCriterion(text);
  if (outputs) return outputs;
  const bare = /^`([^`]+)`$/.exec(text);
  if (bare) return { kind: 'command', command: bare[1]!, exitCode: 0 };
  return undefined;
}

/**
 * `` `cmd` outputs TEXT `` (the command must also exit 0), `` `cmd` outputs TEXT and exits N `` or
 * `` `cmd` exits N and outputs TEXT `` (it must exit N).
 */
function outputCriterion(text: string): SuccessCriterion | undefined {
  const verb = '(?:outputs|prints|contains)';
  const exitsFirst = new RegExp(`^\`([^\`]+)\`\\s+exits\\s+(\\d+)\\s+and\\s+${verb}\\s+(.+)$`, 'i').exec(text);
  const exitsLast = new RegExp(`^\`([^\`]+)\`\\s+${verb}\\s+(.+?)\\s+and\\s+exits\\s+(\\d+)$`, 'i').exec(text);
  const plain = new RegExp(`^\`([^\`]+)\`\\s+${verb}\\s+(.+)$`, 'i').exec(text);
  const [command, printed, code] = exitsFirst
    ? [exitsFirst[1]!, exitsFirst[3]!, exitsFirst[2]!]
    : exitsLast
      ? [exitsLast[1]!, exitsLast[2]!, exitsLast[3]!]
      : plain
        ? [plain[1]!, plain[2]!, '0']
        : [];
  if (command === undefined) return undefined;
  const unquoted = printed!.replace(/^["'`](.*)["'`]$/, '$1');
  return { kind: 'output_contains', command, text: unquoted, exitCode: Number(code) };
}
