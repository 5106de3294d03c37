// ESC [ ... final byte (CSI), and ESC ] ... BEL/ST (OSC): colours and titles that tools print.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * Collects one output stream with a fixed memory bound: the first `keepBytes` bytes (for the
 * object store) and a rolling tail of `tailChars` characters (for the event).
 */
export class OutputCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tailBuffer = '';
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
    this.tailBuffer = (this.tailBuffer + this.decoder.decode(chunk, { stream: true })).slice(-this.tailChars * 2);
  }

  /** Output did not fit in the tail: the event carries a reference to the kept copy. */
  get overflowed(): boolean {
    return this.total > this.tailChars;
  }

  tail(): string {
    return clean(this.tailBuffer).slice(-this.tailChars);
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
