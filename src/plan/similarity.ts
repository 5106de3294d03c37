/** Words and identifiers, paths kept whole (src/greet.js is one token). */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9_$@][a-z0-9_$@./-]*/g) ?? [];
}

function shingles(words: string[]): Set<string> {
  const out = new Set<string>(words.map((w) => `1:${w}`));
  for (let i = 0; i + 1 < words.length; i++) out.add(`2:${words[i]} ${words[i + 1]}`);
  return out;
}

/**
 * Similarity of two task texts with no network: Jaccard over word and word-pair shingles, with
 * differing names folded to one placeholder first, so "Add module greet" and "Add module farewell"
 * score as the same shape while "Delete the database" does not.
 */
export function similarity(a: string, b: string): number {
  const [ta, tb] = [tokens(a), tokens(b)];
  if (ta.length === 0 || tb.length === 0) return 0;
  const pairs = renamePairs(ta, tb);
  const renamed = new Map(pairs.map((p) => [p.from, p.to]));
  const wordsA = shingles(ta.map((t) => (renamed.has(t) ? `<${renamed.get(t)}>` : t)));
  const wordsB = shingles(tb.map((t) => (pairs.some((p) => p.to === t) ? `<${t}>` : t)));
  let shared = 0;
  for (const s of wordsA) if (wordsB.has(s)) shared++;
  const jaccard = shared / (wordsA.size + wordsB.size - shared);
  // Each rename is a real difference: a task that differs only in names still pays a little.
  return jaccard * Math.pow(0.97, pairs.length);
}

/**
 * The names that differ between two token sequences of the same shape: tokens at the same place
 * of an equal-length replaced run (from a longest-common-subsequence alignment).
 */
export function renamePairs(a: string[], b: string[]): { from: string; to: string }[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const pairs: { from: string; to: string }[] = [];
  let [i, j] = [0, 0];
  let runA: string[] = [];
  let runB: string[] = [];
  const flush = () => {
    if (runA.length === runB.length) {
      runA.forEach((from, k) => {
        const to = runB[k]!;
        if (from !== to && !pairs.some((p) => p.from === from)) pairs.push({ from, to });
      });
    }
    runA = [];
    runB = [];
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      runB.push(b[j++]!);
    } else {
      runA.push(a[i++]!);
    }
  }
  flush();
  return pairs;
}

/**
 * Applies renames to a command, in the spellings a plan uses: as written, Capitalised, UPPER,
 * and a path's base name without its extension (greet.js -> greet).
 */
export function adaptText(text: string, pairs: readonly { from: string; to: string }[]): string {
  const variants: { from: string; to: string }[] = [];
  for (const { from, to } of pairs) {
    variants.push({ from, to });
    const [bf, bt] = [stem(from), stem(to)];
    if (bf !== from && bt !== to) variants.push({ from: bf, to: bt });
  }
  let out = text;
  for (const v of variants.sort((x, y) => y.from.length - x.from.length)) {
    for (const [f, t] of [
      [v.from, v.to],
      [cap(v.from), cap(v.to)],
      [v.from.toUpperCase(), v.to.toUpperCase()],
    ] as const) {
      out = out.replace(new RegExp(`(?<![A-Za-z0-9_])${escape(f)}(?![A-Za-z0-9_])`, 'g'), t);
    }
  }
  return out;
}

const stem = (path: string) => (path.split('/').pop() ?? path).replace(/\.[a-z0-9]+$/i, '');
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
