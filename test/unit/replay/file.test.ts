// `replay --file` under its limits, on real files (plain and gzip): a line too long or
// an archive too big once decompressed refuses the whole file with one line naming the
// file and the line, before anything is published; within the limits, lines are
// published, and an invalid one is reported and skipped as before.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import type { DeliveryPublisher } from '../../../ingest/publisher.js';
import { toArchiveLine } from '../../../replay/archive.js';
import { REPLAY_MAX_BYTES, REPLAY_MAX_LINE_BYTES } from '../../../replay/config.js';
import { ArchiveRefusedError, replayFile } from '../../../replay/file.js';
import { toDelivery } from '../../support/publish.js';

const lines = generateStream({ seed: 7, runs: 10 }).map((d) =>
  JSON.stringify(toArchiveLine(toDelivery(d, Date.parse('2026-11-01T00:00:00Z')).delivery)),
);
const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));

describe('replay --file limits', () => {
  let dir: string;
  let batches: number;
  let published: string[];
  const publisher: Pick<DeliveryPublisher, 'publish'> = {
    async publish(batch) {
      batches += 1;
      published.push(...batch.map((d) => d.delivery.id));
      return [];
    },
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runstream-replay-file-'));
    batches = 0;
    published = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function refusal(path: string, limits: { maxLineBytes?: number; maxBytes?: number }) {
    const reports: string[] = [];
    const error = await replayFile({
      path,
      publisher,
      report: (m) => reports.push(m),
      batchSize: 5,
      limits,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArchiveRefusedError);
    return { message: (error as Error).message, reports };
  }

  it('refuses a line longer than the limit, midway, with nothing published (plain and gzip)', async () => {
    const overlong = JSON.stringify({ id: 'x', event: 'workflow_job', body: 'a'.repeat(longest) });
    const text = `${[...lines.slice(0, 30), overlong, ...lines.slice(30)].join('\n')}\n`;
    const plain = join(dir, 'archive.ndjson');
    const gzip = join(dir, 'archive.ndjson.gz');
    await writeFile(plain, text);
    await writeFile(gzip, gzipSync(text));
    for (const path of [plain, gzip]) {
      const { message, reports } = await refusal(path, { maxLineBytes: longest });
      expect(message).toBe(
        `${path}:31: line longer than ${longest} bytes (${REPLAY_MAX_LINE_BYTES.name}); nothing was published`,
      );
      expect(reports).toEqual([]);
    }
    // Batches of 5: without the check first, six batches would have gone before line 31.
    expect(batches).toBe(0);
    // At the limit the same archive, without the long line, is published whole.
    await writeFile(plain, `${lines.join('\n')}\n`);
    const counts = await replayFile({
      path: plain,
      publisher,
      report: () => undefined,
      limits: { maxLineBytes: longest },
    });
    expect(counts).toEqual({ sent: lines.length, skipped: 0, invalid: 0 });
    expect(new Set(published)).toEqual(new Set(lines.map((l) => JSON.parse(l).id)));
  });

  it('refuses an archive that decompresses past the limit (a gzip bomb), at the line it passes it', async () => {
    // 2 MiB of the same lines compress to a few KiB.
    const many: string[] = [];
    for (let bytes = 0; bytes < 2 * 1024 * 1024; bytes += Buffer.byteLength(many.at(-1)!) + 1) {
      many.push(lines[many.length % lines.length]!);
    }
    const path = join(dir, 'bomb.ndjson.gz');
    const compressed = gzipSync(`${many.join('\n')}\n`);
    expect(compressed.length).toBeLessThan(200 * 1024);
    await writeFile(path, compressed);
    const maxBytes = 1024 * 1024;
    // The oracle: the first line whose end (its \n included) passes the limit.
    let total = 0;
    let line = 0;
    while (total <= maxBytes) total += Buffer.byteLength(many[line++]!) + 1;
    const { message } = await refusal(path, { maxBytes });
    expect(message).toBe(
      `${path}:${line}: the archive holds more than ${maxBytes} bytes once decompressed (${REPLAY_MAX_BYTES.name}); nothing was published`,
    );
    expect(batches).toBe(0);
    const counts = await replayFile({
      path,
      publisher,
      report: () => undefined,
      limits: { maxBytes: 4 * maxBytes },
    });
    expect(counts.sent).toBe(many.length);
  });

  it('keeps skipping and reporting an invalid line within the limits', async () => {
    const path = join(dir, 'mixed.ndjson');
    await writeFile(path, [...lines.slice(0, 3), '{not json', ...lines.slice(3, 6)].join('\r\n'));
    const reports: string[] = [];
    const counts = await replayFile({ path, publisher, report: (m) => reports.push(m) });
    expect(counts).toEqual({ sent: 6, skipped: 0, invalid: 1 });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(new RegExp(`^${path}:4: invalid line skipped: not JSON`));
  });

  it('defaults to the settings: a 25 MiB body fits a line even when escaping doubles it', () => {
    expect(REPLAY_MAX_LINE_BYTES.read({})).toBeGreaterThanOrEqual(2 * 25 * 1024 * 1024);
    expect(REPLAY_MAX_LINE_BYTES.read({ RUNSTREAM_REPLAY_MAX_LINE_BYTES: '1MiB' })).toBe(1024 * 1024);
    expect(REPLAY_MAX_BYTES.read({ RUNSTREAM_REPLAY_MAX_BYTES: '1TiB' })).toBe(1024 ** 4);
    expect(() => REPLAY_MAX_BYTES.read({ RUNSTREAM_REPLAY_MAX_BYTES: 'lots' })).toThrow(
      /^RUNSTREAM_REPLAY_MAX_BYTES: /,
    );
  });
});
