import { createLogUpdate } from 'log-update';
import type { InFlight } from './in-flight.ts';
import { colours } from './progress.ts';
import { taskLabel } from '../tasklist/task-spec.ts';
import { inert, terminalText } from '../inert.ts';
import { useColour } from './terminal.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 250;

/**
 * Live progress on a terminal: below the lines that stay (a task planned, done, failed), a region
 * redrawn in place with each running task, its command, the time it has run and its latest
 * output line. log-update does the terminal handling; this only says what to draw.
 */
export function liveProgress(inFlight: InFlight, stream: NodeJS.WriteStream = process.stdout) {
  const log = createLogUpdate(stream);
  let frame = 0;
  const render = () => {
    const width = stream.columns || 100;
    const now = Date.now();
    const fit = (text: string, room: number) =>
      text.length > room ? `${text.slice(0, Math.max(0, room - 1))}…` : text;
    const lines = inFlight.list().flatMap((t) => {
      const elapsed = `${Math.floor((now - t.since) / 1000)}s`;
      // Each on one line, escaped before it is measured: what is drawn is what was fitted.
      const title = inert(taskLabel(t.taskId, t.title), true);
      const head = `${colours.yellow(FRAMES[frame % FRAMES.length]!)} ${fit(title, width - elapsed.length - 3)} ${colours.dim(elapsed)}`;
      const command = inert(
        `  ${t.commandId}: ${t.command} (${Math.floor((now - t.commandSince) / 1000)}s)${t.lastLine ? ` › ${t.lastLine}` : ''}`,
        true,
      );
      return [head, colours.dim(fit(command, width - 1))];
    });
    log(lines.join('\n'));
  };
  const timer = setInterval(() => {
    frame++;
    render();
  }, REDRAW_MS);
  timer.unref();
  return {
    /** A line that stays, printed above the live region. */
    line(text: string) {
      log.clear();
      stream.write(`${terminalText(text, useColour)}\n`);
      render();
    },
    refresh: render,
    stop() {
      clearInterval(timer);
      log.clear();
      log.done();
    },
  };
}
