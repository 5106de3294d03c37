// ESC [ ... final byte (CSI), and ESC ] ... BEL/ST (OSC): colours and titles that tools print.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * Collects one output stream with a fixed memory bound: the first `keepBytes` bytes (for the
 * object store) and, for the event, `tailChars` characters: a quarter from the start (npm and
 * others say what went wrong first, then pages of usage) and the rest from the end.
 */
export class OutputCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tailBuffer = '';
  private headText = '';
  private total = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(
    private readonly tailChars: number,
    private readonly keepBytes: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.keepBytes) {
      const slice = chunk.subarray(0, this.keepBytes - this.headBytes);
      this.head.push(slice);
      this.headBytes += slice.length;
    }
    // Invalid UTF-8 becomes U+FFFD here, so events are always valid JSON strings.
    const text = this.decoder.decode(chunk, { stream: true });
    const headChars = Math.floor(this.tailChars / 4);
    if (this.headText.length < headChars) this.headText += text.slice(0, headChars - this.headText.length);
    this.tailBuffer = (this.tailBuffer + text).slice(-this.tailChars * 2);
  }

  /** Output did not fit in the tail: the event carries a reference to the kept copy. */
  get overflowed(): boolean {
    return this.total > this.tailChars;
  }

  tail(): string {
    const all = clean(this.tailBuffer);
    if (!this.overflowed) return all.slice(-this.tailChars);
    const head = clean(this.headText);
    const marker = '\n[...]\n';
    return `${head}${marker}${all.slice(-(this.tailChars - head.length - marker.length))}`;
  }

  kept(): string {
    const dropped = this.total - this.headBytes;
    const text = clean(new TextDecoder().decode(Buffer.concat(this.head)));
    return dropped > 0 ? `${text}\n[... ${dropped} more bytes not kept]` : text;
  }

  lastLine(): string {
    const lines = clean(this.tailBuffer).trimEnd().split('\n');
    return (lines[lines.length - 1] ?? '').slice(-200);
  }
}

function clean(text: string): string {
  return text.replace(ANSI, '').replace(/\r(?!\n)/g, '\n');
}
