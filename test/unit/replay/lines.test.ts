// An archive's lines under limits: split on \n wherever chunks end, and stopped with the
// line number as soon as a line outgrows its limit or the content passes its total,
// without waiting for the end of the line (memory stays bounded by the limit).
import { describe, expect, it } from 'vitest';
import { ArchiveLimitError, boundedLines } from '../../../replay/lines.js';

const BIG = { maxLineBytes: 1_000_000, maxBytes: 1_000_000 };

async function* chunksOf(...parts: string[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.from(part, 'utf8');
}

async function lines(chunks: AsyncIterable<Buffer>, limits = BIG): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const { lineNumber, bytes } of boundedLines(chunks, limits)) {
    out.push([lineNumber, bytes.toString('utf8')]);
  }
  return out;
}

async function failure(chunks: AsyncIterable<Buffer>, limits: typeof BIG): Promise<ArchiveLimitError> {
  try {
    await lines(chunks, limits);
  } catch (error) {
    if (error instanceof ArchiveLimitError) return error;
    throw error;
  }
  throw new Error('no limit reached');
}

describe('boundedLines', () => {
  it('splits on \\n across chunk ends, drops a \\r before it, numbers every line and keeps a last line without a break', async () => {
    expect(await lines(chunksOf('a', 'b\nc\r', '\n\n', 'é', 'é\r\nlast'))).toEqual([
      [1, 'ab'],
      [2, 'c'],
      [3, ''],
      [4, 'éé'],
      [5, 'last'],
    ]);
    expect(await lines(chunksOf('one\n'))).toEqual([[1, 'one']]);
    expect(await lines(chunksOf())).toEqual([]);
  });

  it('takes a line of exactly the limit and refuses one byte more, naming its line', async () => {
    const limits = { maxLineBytes: 5, maxBytes: 1000 };
    expect(await lines(chunksOf('12345\r\n', '12', '345\n1'), limits)).toEqual([
      [1, '12345'],
      [2, '12345'],
      [3, '1'],
    ]);
    for (const parts of [
      ['ok\n', '123456\n'],
      ['ok\n12', '34', '56'],
      ['ok\n', '123456'],
    ]) {
      const error = await failure(chunksOf(...parts), limits);
      expect(error.limit, parts.join('|')).toBe('line');
      expect(error.lineNumber).toBe(2);
      expect(error.message).toBe('line 2 is longer than 5 bytes');
    }
  });

  it('stops a line without end as soon as it passes the limit: memory holds no more than the limit', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"first":1}\n');
      for (;;) {
        produced += 64 * 1024;
        yield Buffer.alloc(64 * 1024, 0x61);
      }
    }
    const error = await failure(endless(), { maxLineBytes: 1024 * 1024, maxBytes: 2 ** 40 });
    expect(error.lineNumber).toBe(2);
    expect(produced).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
  });

  it('refuses content past the total at the line where it passes it', async () => {
    const limits = { maxLineBytes: 100, maxBytes: 10 };
    // 4 + 4 bytes fit; the third line passes 10 bytes.
    const error = await failure(chunksOf('abc\nd', 'ef\nghi\njkl\n'), limits);
    expect(error.limit).toBe('total');
    expect(error.lineNumber).toBe(3);
    expect(await lines(chunksOf('abc\ndef\nxy'), limits)).toHaveLength(3);
    expect((await failure(chunksOf('abc\ndef\nxyz'), limits)).lineNumber).toBe(3);
  });
});
