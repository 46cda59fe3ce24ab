// ViewReader over the fake Kafka port: it reads every aggregates partition from the
// beginning, is ready only once it reached the end offsets it saw at start (a partition
// behind keeps it unready, and says so), and follows what is committed afterwards. The
// expectation is what the fake cluster committed, read back: the live series keys.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readExporterConfig } from '../../../exporter/config.js';
import { ViewReader } from '../../../exporter/view-reader.js';
import { changelogTopic, isReservedKey, parseAggregateChangelogKey } from '../../../schemas/changelog.js';
import { inputRecords, publishStream, type Shell, shell, task, WARN } from '../../support/shell.js';
import { useTempDir } from '../../support/temp-dir.js';

const dir = useTempDir('runstream-view-reader-');
let dirs = 0;

/** Processes everything on the deliveries topic with the shell's tasks. */
async function processAll(s: Shell): Promise<void> {
  for (let p = 0; p < s.partitions; p++) {
    const t = task(s, p);
    await t.ready;
    await t.process(inputRecords(s, p));
    await t.close();
  }
}

/** The series keys the committed aggregates hold now (last value per partition not a tombstone). */
function liveSeries(s: Shell): Set<string> {
  const latest = new Map<string, boolean>();
  for (const log of s.kafka.cluster.partitions(changelogTopic(s.topics, 'aggregates'))) {
    for (const r of log.committed()) latest.set(r.key!.toString(), r.value !== null);
  }
  const live = new Set<string>();
  for (const [key, present] of latest) {
    const { seriesKey } = parseAggregateChangelogKey(key);
    if (present && !isReservedKey(seriesKey)) live.add(seriesKey);
  }
  return live;
}

function reader(s: Shell): ViewReader {
  const config = readExporterConfig({
    RUNSTREAM_TOPIC_PREFIX: 'unit-',
    RUNSTREAM_PARTITIONS: String(s.partitions),
  });
  return new ViewReader(s.kafka, config, s.logger, new Registry());
}

const seriesIn = (r: ViewReader) => Object.values(r.view.counts()).reduce((a, b) => a + b, 0);

describe('ViewReader', () => {
  it('reads every partition from the beginning and is ready once at the end offsets seen at start', async () => {
    const s = shell(dir(`s-${dirs++}`));
    publishStream(s, { runs: 8 });
    await processAll(s);
    const expected = liveSeries(s);
    expect(expected.size).toBeGreaterThan(5);
    const r = reader(s);
    expect(r.readiness()).toEqual({ ready: false, detail: 'reading the changelogs' });
    await r.start();
    await r.waitUntilCaughtUp(5000);
    expect(r.readiness().ready).toBe(true);
    expect(seriesIn(r)).toBe(expected.size);
    await r.close();
    expect(
      s.kafka.cluster.journal.some((j) => j.startsWith('partition consumer unit-deliveries-exporter-')),
    ).toBe(true);
    expect(s.kafka.cluster.journal).toContain('admin disconnected');
  });

  it('stays unready, and says so, while a partition is behind its target', async () => {
    const s = shell(dir(`s-${dirs++}`));
    publishStream(s, { runs: 8 });
    await processAll(s);
    const behind = changelogTopic(s.topics, 'aggregates');
    s.kafka.cluster.faults.stall(behind, 1);
    const r = reader(s);
    await r.start(50);
    await expect(r.waitUntilCaughtUp(400)).rejects.toThrow(/not caught up/);
    expect(r.readiness().ready).toBe(false);
    expect(s.lines.some((l) => l.level === WARN && /view still catching up/.test(l.msg))).toBe(true);
    s.kafka.cluster.faults.unstall(behind, 1);
    s.kafka.cluster.changed.fire();
    await r.waitUntilCaughtUp(5000);
    expect(seriesIn(r)).toBe(liveSeries(s).size);
    await r.close();
  });

  it('follows what is committed after it caught up', async () => {
    const s = shell(dir(`s-${dirs++}`));
    publishStream(s, { runs: 3, seed: 1 });
    await processAll(s);
    const r = reader(s);
    await r.start();
    await r.waitUntilCaughtUp(5000);
    const before = seriesIn(r);
    publishStream(s, { runs: 6, seed: 2, firstRunId: 8_000_000_000 });
    await processAll(s);
    await r.waitForCurrentEnd(5000);
    expect(seriesIn(r)).toBe(liveSeries(s).size);
    expect(seriesIn(r)).toBeGreaterThan(before);
    await r.close();
  });
});
