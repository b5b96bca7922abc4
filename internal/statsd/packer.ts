/** Packing StatsD lines into datagrams no larger than a byte limit. */

/**
 * Packs lines into datagrams of at most `maxBytes` bytes (lines joined by `\n`). A full datagram is
 * handed to `emit` at once; the last partial one on `flush()`. A line longer than `maxBytes` is refused
 * (`add` returns false) so that no datagram ever exceeds the limit.
 */
export class LinePacker {
  private payload = '';
  private bytes = 0;
  private lines = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly emit: (payload: string, lines: number, bytes: number) => void,
  ) {}

  /** Adds a line of `lineBytes` UTF-8 bytes. False (nothing added) when the line alone exceeds the limit. */
  add(line: string, lineBytes: number): boolean {
    if (lineBytes > this.maxBytes) return false;
    if (this.lines === 0) {
      this.payload = line;
      this.bytes = lineBytes;
      this.lines = 1;
      return true;
    }
    if (this.bytes + 1 + lineBytes > this.maxBytes) {
      this.emit(this.payload, this.lines, this.bytes);
      this.payload = line;
      this.bytes = lineBytes;
      this.lines = 1;
      return true;
    }
    this.payload += '\n' + line;
    this.bytes += 1 + lineBytes;
    this.lines++;
    return true;
  }

  /** Emits the partial datagram, if any. */
  flush(): void {
    if (this.lines === 0) return;
    const { payload, lines, bytes } = this;
    this.payload = '';
    this.bytes = 0;
    this.lines = 0;
    this.emit(payload, lines, bytes);
  }

  /** Lines waiting in the partial datagram. */
  get pendingLines(): number {
    return this.lines;
  }
}
