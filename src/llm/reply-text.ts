/**
 * The JSON answer inside a model's reply, as real models write it: bare, in a markdown fence, or
 * in prose, often after a reasoning block (`<think>...</think>` from deepseek-r1, qwen3 and other
 * local reasoning models). Pure: the client validates what this finds with zod.
 */

/** Reasoning blocks some models put before (or around) the answer; never part of it. */
const REASONING_BLOCK = /<(think|thinking|reasoning|reflection)>[\s\S]*?<\/\1>/gi;
/** A block opened and never closed (the reply was cut off inside it, or the server dropped the opening tag). */
const OPEN_REASONING = /<(?:think|thinking|reasoning|reflection)>[\s\S]*$/i;
/** Servers that strip the opening tag leave a closing one with the reasoning before it. */
const ORPHAN_CLOSE = /^[\s\S]*?<\/(?:think|thinking|reasoning|reflection)>/i;
const FENCE = /```[a-zA-Z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/g;

export function withoutReasoning(content: string): string {
  let text = content.replace(REASONING_BLOCK, '');
  if (ORPHAN_CLOSE.test(text)) text = text.replace(ORPHAN_CLOSE, '');
  return text.replace(OPEN_REASONING, '').trim();
}

/**
 * Candidate JSON texts, best first: the whole reply, each fenced block (the last first: a model
 * that shows an example before its answer puts the answer last), then each balanced `{...}` in
 * the prose. The caller takes the first that parses and validates.
 */
export function jsonCandidates(content: string): string[] {
  const text = withoutReasoning(content);
  const out: string[] = [text];
  const fenced = [...text.matchAll(FENCE)].map((m) => m[1]!.trim());
  out.push(...fenced.reverse());
  out.push(...balancedObjects(text));
  return [...new Set(out.filter(Boolean))];
}

/** Top-level `{...}` spans of a text, strings and escapes respected. */
function balancedObjects(text: string): string[] {
  const found: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"' && depth > 0) inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) found.push(text.slice(start, i + 1));
    }
  }
  return found;
}
