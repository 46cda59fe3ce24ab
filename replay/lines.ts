// An archive's lines, read under limits: a line longer than `maxLineBytes` or content
// beyond `maxBytes` stops the read with the line number, as soon as it is seen, so
// memory never holds more than one line of at most the limit.
import type { ArchiveLimits } from './config.js';

export type ArchiveLimit = 'line' | 'total';

/** A limit passed at `lineNumber` (1-based). */
export class ArchiveLimitError extends Error {
  constructor(
    readonly limit: ArchiveLimit,
    readonly lineNumber: number,
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveLimitError';
  }
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits bytes into lines on `\n` (a `\r` before it is dropped), each with its 1-based
 * number; the last line needs no line break. Throws an ArchiveLimitError the moment a
 * line outgrows `maxLineBytes` (its line break excluded) or the bytes read pass
 * `maxBytes`.
 */
export async function* boundedLines(
  chunks: AsyncIterable<Buffer>,
  limits: ArchiveLimits,
): AsyncGenerator<{ lineNumber: number; bytes: Buffer }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let lineNumber = 1;
  const tooLong = () =>
    new ArchiveLimitError(
      'line',
      lineNumber,
      `line ${lineNumber} is longer than ${limits.maxLineBytes} bytes`,
    );
  const checkTotal = () => {
    if (total > limits.maxBytes) {
      throw new ArchiveLimitError(
        'total',
        lineNumber,
        `the content passes ${limits.maxBytes} bytes (decompressed) at line ${lineNumber}`,
      );
    }
  };
  const take = (piece: Buffer): Buffer => {
    const whole = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
    pending = [];
    pendingBytes = 0;
    const end = whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
    if (end > limits.maxLineBytes) throw tooLong();
    return whole.subarray(0, end);
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, start)) {
      total += at - start + 1;
      checkTotal();
      const bytes = take(chunk.subarray(start, at));
      yield { lineNumber, bytes };
      lineNumber += 1;
      start = at + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      total += rest.length;
      checkTotal();
      pending.push(rest);
      pendingBytes += rest.length;
      // One byte of slack for a `\r` that the next chunk's `\n` would drop.
      if (pendingBytes > limits.maxLineBytes + 1) throw tooLong();
    }
  }
  if (pendingBytes > 0) yield { lineNumber, bytes: take(Buffer.alloc(0)) };
}
