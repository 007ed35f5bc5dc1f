/**
 * Splits a byte or text stream into lines for the bridges' parsers (sysdig's, bpftrace's). A line may arrive in any
 * number of chunks (a UTF-8 character split between two Buffers included); a line that grows past `maxLine` is
 * dropped up to its newline without being buffered whole; a line still open at end() is cut.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLine: number;
  private readonly onTooLong: () => void;
  private pending = '';
  /** Inside a line that grew past maxLine: its rest is dropped up to the next newline. */
  private skipping = false;

  constructor(maxLine: number, onTooLong: () => void) {
    this.maxLine = maxLine;
    this.onTooLong = onTooLong;
  }

  /** Calls `line` with every whole line of the chunk (without its newline). */
  push(chunk: string | Buffer, line: (text: string) => void): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let from = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      if (this.skipping) {
        this.skipping = false;
        this.pending = '';
      } else {
        const whole = this.pending === '' ? text.slice(from, nl) : this.pending + text.slice(from, nl);
        this.pending = '';
        line(whole);
      }
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    if (from < text.length && !this.skipping) {
      this.pending += from === 0 ? text : text.slice(from);
      if (this.pending.length > this.maxLine) {
        this.onTooLong();
        this.pending = '';
        this.skipping = true;
      }
    }
  }

  /** The stream ended: true when a partial last line was cut (it is dropped, never parsed: its end is missing). */
  end(): boolean {
    const rest = this.decoder.end();
    if (rest !== '' && !this.skipping) this.pending += rest;
    const cut = this.pending !== '' && !this.skipping;
    this.pending = '';
    this.skipping = false;
    return cut;
  }
}
