/**
 * The line of a failed command's output that says what went wrong, for a reason a person
 * reads: not npm's or Maven's log footer, a usage hint, a stack frame or a "giving up" trailer.
 */
const NOISE = [
  /A complete log of this run can be found in/,
  /^(?:npm (?:error|ERR!)|npm warn)\s*(?:code|errno|syscall|path|signal|command|workspace|location|A complete log)?\b\S*\s*$/,
  /^npm warn /,
  /^Try '.*--help' for more information\.?$/,
  /^Node\.js v\d/,
  /^\s+at /,
  /^\s*[\^~]+\s*$/,
  /^\s*\d*\s*\|/,
  /compilation terminated\./,
  /collect2: error: ld returned/,
  /^make(?:\[\d+\])?: \*\*\* .*Error \d+/,
  /Error is not recoverable: exiting now|Exiting with failure status|Child returned status/,
  /^Traceback \(most recent call last\)/,
  /^\s*(?:code|errno|syscall|requireStack|path): /,
  /^\s*[{}[\]],?\s*$/,
  // Rust: backtrace frames, and what rustc and cargo say after the error itself.
  /^\s*\d+: (?:<|\w+::)/,
  /^For more information about this error, try `rustc --explain/,
  /^error: (?:could not compile `|aborting due to)/,
  // Maven's footer, javac's count.
  /^\[(?:ERROR|WARNING)\]\s*(?:$|To see the full stack trace|Re-run Maven using|For more information about the errors|\[Help \d+\])/,
  /^\d+ (?:errors?|warnings?)$/,
];
const STRONG =
  /error|fatal|failed|fail\b|cannot|can't|could not|no such|not found|denied|invalid|unexpected|missing|undefined reference|refus|exception|not a |does not|doesn't/i;
const TOOL_PREFIX = /^(?:npm (?:error|ERR!)\s+)/;

export function meaningfulLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !NOISE.some((n) => n.test(l)));
  const strong = lines.filter((l) => STRONG.test(l.replace(TOOL_PREFIX, '')));
  // stderr lines come last: the last strong line is the error nearest the end of the story.
  return (strong.at(-1) ?? lines.at(-1) ?? '').trim();
}
