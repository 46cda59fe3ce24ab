// `replay --file` and the GUID rule: a line whose delivery id is not a GUID is reported
// with its line number and publishes nothing, whatever its event; the rest is published
// under the canonical spelling of each id.
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import { toArchiveLine } from '../../../replay/archive.js';
import { replayFile } from '../../../replay/file.js';
import type { KeyedDelivery } from '../../../schemas/delivery.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';

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
