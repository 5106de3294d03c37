const NUMBER = /^\d+(?:\.\d+)*$/;
/** `4.1-4.5`, `2.1–2.4` (en dash), `3.2-6` (same major implied). */
const RANGE = /^(\d+)\.(\d+)\s*[-\u2013\u2014]\s*(?:(\d+)\.)?(\d+)$/;
/** A range wider than this is a typo or a summary ("1.1-9.99"), not a list to expand. */
const MAX_EXPANSION = 50;

/**
 * Requirement references as people and spec tools write them: `1.1, 2.3`, `4.1-4.5`,
 * `Requirements 1.2`, `Architecture foundation`, `All`. Numbers and ranges within one major are
 * expanded; anything else is kept as text, never interpreted as a pattern.
 */
export function parseRequirementRefs(value: string): string[] {
  const refs: string[] = [];
  for (const raw of value.split(/[,;]/)) {
    const part = raw
      .trim()
      .replace(/^[*_`]+|[*_`]+$/g, '')
      .replace(/^requirements?\b\s*:?\s*/i, '')
      .replace(/\.$/, '')
      .trim();
    if (!part) continue;
    const words = part.split(/\s+/);
    if (words.every((w) => NUMBER.test(w))) {
      refs.push(...words);
      continue;
    }
    refs.push(...(expandRange(part) ?? [part]));
  }
  return [...new Set(refs)];
}

function expandRange(part: string): string[] | undefined {
  const m = RANGE.exec(part);
  if (!m) return undefined;
  const [, major = '', from = '', toMajor, to = ''] = m;
  if (toMajor !== undefined && toMajor !== major) return undefined;
  const lo = Number(from);
  const hi = Number(to);
  if (hi < lo || hi - lo >= MAX_EXPANSION) return undefined;
  return Array.from({ length: hi - lo + 1 }, (_, k) => `${major}.${lo + k}`);
}

/** Whether a reference is a requirement number (as opposed to free text). */
export const isNumberedRef = (ref: string) => NUMBER.test(ref);
