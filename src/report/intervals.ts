/** Total time covered by a set of [start, end] intervals, overlaps counted once. */
export function unionLength(intervals: readonly (readonly [number, number])[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [s, e] of sorted) {
    if (!current || s > current[1]) {
      if (current) total += current[1] - current[0];
      current = [s, e];
    } else {
      current[1] = Math.max(current[1], e);
    }
  }
  return current ? total + (current[1] - current[0]) : total;
}

/** The longest stretch of [from, to] that no interval covers. */
export function longestGap(intervals: readonly (readonly [number, number])[], from: number, to: number): number {
  let longest = 0;
  let reached = from;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (s > reached) longest = Math.max(longest, Math.min(s, to) - reached);
    reached = Math.max(reached, e);
    if (reached >= to) return longest;
  }
  return Math.max(longest, to - reached);
}
