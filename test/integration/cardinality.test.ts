// The cardinality settings through the real roles: a processor and an exporter started
// from the environment, with a label allowlist, buckets, branch_kind, a runner pool and a
// repository filter. The expected counts are taken from the input, without the core.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateStream } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { parseExposition, scrape } from '../support/exposition.js';
import { brokers, createTestTopics, type TestTopics, testKafka, testLogger } from '../support/kafka.js';
import { publishDeliveries, waitForGroup } from '../support/publish.js';

const COMPLETED = 'github_actions_jobs_completed_total';
const DURATION = 'github_actions_job_duration_seconds';

describe('cardinality settings end to end', () => {
  let topics: TestTopics;
  let stateDir: string;
  const handles: RoleHandle[] = [];

  beforeAll(async () => {
    topics = await createTestTopics(2);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-cardinality-'));
  });
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serves the kept labels, the pools and the buckets, and nothing of a left-out repository', async () => {
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '2',
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_HOUSEKEEPING_INTERVAL: '1h',
      RUNSTREAM_METRIC_LABELS: `${COMPLETED}:conclusion`,
      RUNSTREAM_METRIC_BUCKETS: `${DURATION}:60,600`,
      RUNSTREAM_BRANCH_KIND: 'true',
      RUNSTREAM_RUNNER_POOLS: 'self-hosted=self-hosted',
      RUNSTREAM_REPOSITORIES_EXCLUDE: 'acme/*',
    };
    const stream = generateStream({ seed: 15, runs: 30 });
    const repositoryOf = (d: (typeof stream)[number]) =>
      (d.payload.repository as { full_name: string }).full_name;
    // Each job completes once (a redelivery keeps its delivery id).
    const completions = new Map<string, string>();
    for (const d of stream) {
      const job = d.payload.workflow_job as { id: number; status: string; conclusion: string } | undefined;
      if (job?.status === 'completed' && !repositoryOf(d).startsWith('acme/')) {
        completions.set(String(job.id), job.conclusion);
      }
    }
    const expected = new Map<string, number>();
    for (const conclusion of completions.values())
      expected.set(conclusion, (expected.get(conclusion) ?? 0) + 1);

    const processor = await startProcessor(readProcessorConfig(env), testLogger);
    handles.push(processor);
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    await exporter.exporter.waitUntilCaughtUp(60_000);
    const samples = parseExposition(await scrape(exporter.port)).filter((s) =>
      s.name.startsWith('github_actions_'),
    );

    const completed = samples.filter((s) => s.name === COMPLETED);
    expect(completed.every((s) => Object.keys(s.labels).join() === 'conclusion')).toBe(true);
    expect(new Map(completed.map((s) => [s.labels.conclusion!, s.value]))).toEqual(expected);

    const bounds = new Set(samples.filter((s) => s.name === `${DURATION}_bucket`).map((s) => s.labels.le));
    expect(bounds).toEqual(new Set(['60', '600', '+Inf']));
    const kinds = new Set(
      samples.filter((s) => s.name === `${DURATION}_count`).map((s) => s.labels.branch_kind),
    );
    expect(kinds.size).toBeGreaterThan(0);
    expect([...kinds].every((kind) => kind === 'default' || kind === 'other')).toBe(true);

    const labelSets = new Set(
      samples.filter((s) => s.labels.labels !== undefined).map((s) => s.labels.labels),
    );
    expect(labelSets.has('self-hosted')).toBe(true);
    expect(
      [...labelSets].some((labels) => labels!.split(',').includes('self-hosted') && labels !== 'self-hosted'),
    ).toBe(false);
    expect(samples.some((s) => s.labels.repository?.startsWith('acme/'))).toBe(false);

    const ignored = parseExposition(await scrape(processor.port)).find(
      (s) => s.name === 'runstream_processor_deliveries_total' && s.labels.result === 'ignored',
    );
    expect(ignored?.value).toBe(stream.filter((d) => repositoryOf(d).startsWith('acme/')).length);
  });
});
