// Hostile workflow names and runs-on labels (quotes, backslashes, `\n` as text and as a
// newline, carriage returns, U+2028, unicode, 10 kB, commas, empty) end to end on the
// shared broker: deliveries topic -> processor -> aggregates changelog -> exporter ->
// /metrics text -> the suite's parser, series by series against the oracle from the
// stream's truth (test/support/oracle.ts, no core or exporter code). Caps and the length
// limit are above the stream here, so every value must come back exactly as sent.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { diffFromOracle } from '../support/committed.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { hostileScenario } from '../support/hostile.js';
import { brokers, createTestTopics, testKafka, testLogger } from '../support/kafka.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';
import { publishDeliveries, recentStartMs, waitForGroup } from '../support/publish.js';

describe('hostile label values end to end', () => {
  const handles: RoleHandle[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('serves every workflow name and runs-on label as sent, escaped, series by series as the oracle', async () => {
    const topics = await createTestTopics(2);
    const stateDir = await mkdtemp(join(tmpdir(), 'runstream-hostile-'));
    dirs.push(stateDir);
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: String(topics.partitions),
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '6s',
      // The 10 kB names are served whole (the default limit would cut them, as caps.test.ts checks).
      RUNSTREAM_METRIC_LABEL_MAX_LENGTH: '65536',
      // At the default 500 deliveries a transaction, this stream's changelog records with
      // whole 10 kB names are several times the broker's 1 MB record batch limit: they go
      // in several sends (processor/changelog-sends.ts), or the partition would retry a
      // refused produce for ever.
    };
    const { deliveries, truth } = hostileScenario({
      seed: 4711,
      runs: 40,
      variety: 5,
      unfinishedRate: 0.3,
      rerunFailedRate: 0.5,
      startMs: recentStartMs(),
    });
    await publishDeliveries(testKafka(), topics.names.deliveries, deliveries);
    handles.push(await startProcessor(readProcessorConfig(env), testLogger));
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    await exporter.exporter.waitUntilCaughtUp(60_000);

    const want = expectedSeries(truth);
    expect(await diffFromOracle(topics.names, truth)).toEqual([]);
    const text = await scrape(exporter.port);
    const served = samplesByKey(parseExposition(text), 'github_actions_');
    expect(seriesDiff(served, want)).toEqual([]);

    // Not vacuous: every kind of hostile value is among the served ones, as sent.
    const values = new Set(
      parseExposition(text).flatMap((s) => [s.labels.workflow, s.labels.labels, s.labels.pool]),
    );
    const some = (test: (v: string) => boolean) => [...values].some((v) => v !== undefined && test(v));
    expect(some((v) => v.includes('say "hi"'))).toBe(true);
    expect(some((v) => v.includes('back\\slash\\n'))).toBe(true);
    expect(some((v) => v.includes('new\nline'))).toBe(true);
    expect(some((v) => v.includes('carriage\rreturn\u2028'))).toBe(true);
    expect(some((v) => v.includes('ünïcödé 😀 名前'))).toBe(true);
    expect(some((v) => v.includes('x'.repeat(10_000)))).toBe(true);
    expect(some((v) => v.startsWith('#'))).toBe(true); // the empty workflow name
    // And escaped in the text itself as the format says (written here, not parsed):
    // a backslash as `\\`, a quote as `\"`, a newline as `\n`.
    expect(text).toContain('back\\\\slash\\\\n');
    expect(text).toContain('say \\"hi\\"');
    expect(text).toContain('new\\nline');
    expect(text.split('\n').every((line) => !line.startsWith('line'))).toBe(true);
  }, 180_000);
});
