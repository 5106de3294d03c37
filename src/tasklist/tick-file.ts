import { isUtf8 } from 'node:buffer';
import { open, readFile, writeFile } from 'node:fs/promises';
import { isDoneMark, readCheckbox, splitBom } from './checkbox-line.ts';
import { isTaskBox, tickTask } from './tasks-writer.ts';

/**
 * Ticks boxes in a tasks.md on disk, one byte each, in place: the file is read once to learn
 * where each line starts, and a tick then reads its line and writes its box byte, so a run's
 * n-th tick costs the same as its first (rewriting the whole file per tick would make a long
 * list's ticks quadratic). A line that no longer holds the task's checkbox (the file was edited during
 * the run) falls back to reading the file and finding the task, as `tickTask` does.
 */
export class TasksFile {
  /** Byte offset of each line's start, from the last whole read. */
  private starts: number[] | undefined;
  private bomBytes = 0;
  /** How the file is read and written: Latin-1, one character per byte, where it is not valid UTF-8. */
  private encoding: TaskListEncoding = 'utf8';

  constructor(private readonly path: string) {}

  async tick(ids: readonly { id: string; line?: number | undefined }[]): Promise<void> {
    const missed = [];
    for (const t of ids) if (!(await this.tickInPlace(t.id, t.line))) missed.push(t);
    if (missed.length === 0) return;
    const { text, encoding } = await readTaskList(this.path);
    const updated = missed.reduce((acc, t) => tickTask(acc, t.id, t.line), text);
    if (updated !== text) await writeFile(this.path, updated, encoding);
    this.index(updated, encoding);
  }

  private index(text: string, encoding: TaskListEncoding): void {
    this.encoding = encoding;
    const { bom, body } = splitBom(text);
    this.bomBytes = Buffer.byteLength(bom, encoding);
    const starts = [this.bomBytes];
    let at = this.bomBytes;
    for (const line of body.split(/(?<=\n)/)) starts.push((at += Buffer.byteLength(line, encoding)));
    this.starts = starts;
  }

  private async tickInPlace(id: string, line: number | undefined): Promise<boolean> {
    if (line === undefined) return false;
    if (!this.starts) {
      const { text, encoding } = await readTaskList(this.path);
      this.index(text, encoding);
    }
    const start = this.starts![line - 1];
    const end = this.starts![line];
    if (start === undefined || end === undefined) return false;
    const file = await open(this.path, 'r+');
    try {
      const bytes = Buffer.alloc(end - start);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, start);
      const text = bytes
        .subarray(0, bytesRead)
        .toString(this.encoding)
        .replace(/\r?\n$/, '');
      const box = readCheckbox(text);
      if (!box || !isTaskBox(box, line, id)) return false;
      if (isDoneMark(box.mark)) return true;
      await file.write('x', start + Buffer.byteLength(text.slice(0, box.boxIndex), this.encoding), 'utf8');
      return true;
    } finally {
      await file.close();
    }
  }
}

export type TaskListEncoding = 'utf8' | 'latin1';

/**
 * A task list's text and how to write it back: UTF-8 where the file is valid UTF-8, else Latin-1,
 * which maps each byte to one character and back, so a tick keeps every other byte as it was.
 */
export async function readTaskList(path: string): Promise<{ text: string; encoding: TaskListEncoding }> {
  const bytes = await readFile(path);
  const encoding = isUtf8(bytes) ? 'utf8' : 'latin1';
  return { text: bytes.toString(encoding), encoding };
}
