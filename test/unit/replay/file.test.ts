// `replay --file` under its limits, on real files (plain and gzip): a line too long or
// an archive too big once decompressed refuses the whole file with one line naming the
// file and the line, before anything is published; within the limits, lines are
// published, and an invalid one is reported and skipped as before.
//
// `replay --file` and the GUID rule: a line whose delivery id is not a GUID is reported
// with its line number and publishes nothing, whatever its event; the rest is published
// under the canonical spelling of each id.
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
import type { KeyedDelivery } from '../../../schemas/delivery.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';

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

describe('replay --file', () => {
  const dir = useTempDir('runstream-replay-file-');

  it('refuses a line whose id is not a GUID, naming the line, and publishes the others', async () => {
    const stream = generateStream({ seed: 3, runs: 2 });
    const lines = stream.map((d) => toArchiveLine(toDelivery(d).delivery));
    const good = lines.length;
    const bad = (id: string, event = 'workflow_job') =>
      JSON.stringify({ ...lines[0]!, id, event, headers: { 'x-github-delivery': id } });
    const text = [
      ...lines.slice(0, 2).map((l) => JSON.stringify(l)),
      bad('retired:run:30433642:1'), // line 3
      ...lines.slice(2).map((l) => JSON.stringify(l)),
      bad('guid-1', 'push'), // a skipped event with a bad id is still refused
      // No id field: the header's is used, and checked as well.
      JSON.stringify({ ...lines[1]!, id: undefined, headers: { 'x-github-delivery': 'x' } }),
      // Upper case: the same delivery as line 1, under GitHub's spelling.
      JSON.stringify({ ...lines[0]!, id: lines[0]!.id.toUpperCase() }),
    ];
    const path = dir('archive.ndjson');
    await writeFile(path, `${text.join('\n')}\n`);
    const published: KeyedDelivery[] = [];
    const reports: string[] = [];
    const counts = await replayFile({
      path,
      publisher: {
        publish: async (batch) => {
          published.push(...batch);
          return [];
        },
      },
      report: (m) => reports.push(m),
    });
    expect(counts).toEqual({ sent: good + 1, skipped: 0, invalid: 3 });
    expect(reports).toEqual([
      `${path}:3: invalid line skipped: delivery id "retired:run:30433642:1" is not a GUID (X-GitHub-Delivery is 8-4-4-4-12 hex digits, like 72d3162e-cc78-11e3-81ab-4c9367dc0958)`,
      expect.stringMatching(
        new RegExp(`:${good + 2}: invalid line skipped: delivery id "guid-1" is not a GUID`),
      ),
      expect.stringMatching(new RegExp(`:${good + 3}: invalid line skipped: delivery id "x" is not a GUID`)),
    ]);
    const ids = published.map((p) => p.delivery.id);
    expect(ids).toEqual([...stream.map((d) => d.id), stream[0]!.id]);
  });
});
