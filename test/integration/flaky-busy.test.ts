// Flaky jobs and busy runners end to end (deliveries topic -> processor -> aggregates
// changelog -> exporter) on the shared broker, against the independent oracle
// (test/support/oracle.ts): a re-run stream from real payloads (full re-runs and "re-run
// failed jobs" attempts, duplicated and disordered), then the whole stream again after
// the processor lost its local state and restored from the changelogs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScenario } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { brokers, createTestTopics, type TestTopics, testKafka, testLogger } from '../support/kafka.js';
import { expectedSeries } from '../support/oracle.js';
import { publishDeliveries, waitForGroup } from '../support/publish.js';

const FAMILIES = ['github_actions_jobs_flaky_total', 'github_actions_runners_busy'];

/** The samples of the two families, without the gauges' emptied series (served at 0). */
const only = (series: Map<string, number>): Map<string, number> =>
  new Map(
    [...series]
      .filter(([key]) => FAMILIES.some((f) => key.startsWith(`${f}{`)))
      .filter(([, value]) => value !== 0)
      .sort(([a], [b]) => a.localeCompare(b)),
  );

describe('flaky jobs and busy runners end to end', () => {
  let topics: TestTopics;
  let stateDir: string;
  let env: Record<string, string>;
  const handles: RoleHandle[] = [];

  beforeAll(async () => {
    topics = await createTestTopics(3);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-flaky-'));
    env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_HOUSEKEEPING_INTERVAL: '1h',
    };
  });
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serves the oracle, and the same after a restore and the whole stream again', async () => {
    const { deliveries, truth } = generateScenario({
      seed: 2828,
      runs: 80,
      rerunFailedRate: 1,
      duplicateRate: 0.2,
      disorderRate: 0.6,
      unfinishedRate: 0.3,
      firstRunId: 8_200_000_000,
    });
    const want = only(expectedSeries(truth));
    const flaky = [...want].filter(([k]) => k.startsWith('github_actions_jobs_flaky_total{'));
    expect(flaky.length, 'the stream has flaky jobs').toBeGreaterThan(3);
    expect([...want.keys()].some((k) => k.startsWith('github_actions_runners_busy{'))).toBe(true);

    const processor = await startProcessor(readProcessorConfig(env), testLogger);
    handles.push(processor);
    await publishDeliveries(testKafka(), topics.names.deliveries, deliveries);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);

    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    await exporter.exporter.waitUntilCaughtUp(60_000);
    const served = async () =>
      only(samplesByKey(parseExposition(await scrape(exporter.port)), 'github_actions_'));
    expect(await served()).toEqual(want);

    // The processor loses its local state and restores from the changelogs; the same
    // deliveries again (GitHub's redeliveries keep their ids) change nothing.
    await processor.close();
    handles.splice(handles.indexOf(processor), 1);
    await rm(stateDir, { recursive: true, force: true });
    handles.push(await startProcessor(readProcessorConfig(env), testLogger));
    await publishDeliveries(testKafka(), topics.names.deliveries, deliveries);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await exporter.exporter.waitForCurrentEnd(60_000);
    expect(await served()).toEqual(want);
  });
});
