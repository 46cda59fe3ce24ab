// `runstream verify` against a real broker, real processors and real payloads: a clean
// pipeline verifies with no difference, also while it is processing at full speed; a
// corrupted aggregate record, a lost changelog record and a delivery counted twice are each
// found and named, by the API and by the CLI's exit status and JSON.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateStream } from '../../demo/stream.js';
import type { RoleHandle } from '../../platform/role.js';
import { applyDelta } from '../../processor/core/aggregates.js';
import { applyJob } from '../../processor/core/state.js';
import { type ProcessorConfig, readProcessorConfig, startProcessor } from '../../processor/main.js';
import { type VerifyReport, verifyPipeline } from '../../processor/verify.js';
import {
  aggregateChangelogKey,
  decodeAggregate,
  decodeInputPosition,
  encodeAggregate,
  INPUT_POSITION_KEY,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../schemas/changelog.js';
import { codecs } from '../../schemas/codecs.js';
import type { AggregateValue } from '../../schemas/model.js';
import { parseDelivery } from '../../schemas/observation.js';
import { startCli } from '../support/cli-process.js';
import {
  brokers,
  createTestTopics,
  readTopic,
  type TestTopics,
  testKafka,
  testLogger,
} from '../support/kafka.js';
import { publishDeliveries, waitForGroup } from '../support/publish.js';

const env = (topics: TestTopics): Record<string, string> => ({
  KAFKA_BROKERS: brokers().join(','),
  RUNSTREAM_TOPIC_PREFIX: topics.prefix,
  RUNSTREAM_PARTITIONS: String(topics.partitions),
});

function processorConfig(topics: TestTopics, stateDir: string): ProcessorConfig {
  return {
    ...readProcessorConfig({
      ...env(topics),
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_MAX_RECORDS_PER_TRANSACTION: '50',
    }),
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
  };
}

const verify = (topics: TestTopics, config: ProcessorConfig): Promise<VerifyReport> =>
  verifyPipeline({
    kafka: testKafka(),
    topics: topics.names,
    config,
    logger: testLogger,
    maxDifferences: 50,
  });

/** The live series of one partition and its input position, from the changelog (latest values). */
async function liveOf(topics: TestTopics, partition: number) {
  const series = new Map<string, AggregateValue>();
  let position: bigint | undefined;
  for (const r of await readTopic(topics.names.aggregatesChangelog)) {
    if (r.partition !== partition || !r.message.key) continue;
    const { seriesKey } = parseAggregateChangelogKey(r.message.key.toString());
    if (seriesKey === INPUT_POSITION_KEY && r.message.value) position = decodeInputPosition(r.message.value);
    else if (!isReservedKey(seriesKey)) {
      if (r.message.value) series.set(seriesKey, decodeAggregate(r.message.value));
      else series.delete(seriesKey);
    }
  }
  if (position === undefined) throw new Error(`partition ${partition} has no input position`);
  return { series, position };
}

/** Writes records to one aggregates partition as a processor's transaction would end: with the position. */
async function writeAggregates(
  topics: TestTopics,
  partition: number,
  position: bigint,
  records: ReadonlyArray<{ seriesKey: string; value: AggregateValue | null }>,
): Promise<void> {
  const producer = testKafka().recordProducer();
  await producer.connect();
  try {
    await producer.send([
      {
        topic: topics.names.aggregatesChangelog,
        records: [
          ...records.map((r) => ({
            key: aggregateChangelogKey(partition, r.seriesKey),
            value: r.value && encodeAggregate(r.value),
            partition,
          })),
          {
            key: aggregateChangelogKey(partition, INPUT_POSITION_KEY),
            value: Buffer.from(position.toString()),
            partition,
          },
        ],
      },
    ]);
  } finally {
    await producer.disconnect();
  }
}

describe('runstream verify', () => {
  let topics: TestTopics;
  let stateDir: string;
  let config: ProcessorConfig;
  const handles: RoleHandle[] = [];
  // Recent, as live traffic is: nothing is past its max age, so every gauge is compared too.
  // Some runs re-run their failed jobs, so re-run records and flaky jobs are in the cut.
  const stream = generateStream({
    seed: 28,
    runs: 120,
    startMs: Date.now() - 3 * 3_600_000,
    rerunFailedRate: 0.5,
  });

  beforeAll(async () => {
    topics = await createTestTopics(3);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-verify-'));
    config = processorConfig(topics, stateDir);
  });
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('finds no difference in a clean pipeline, also while two processors run at full speed', async () => {
    handles.push(await startProcessor(config, testLogger), await startProcessor(config, testLogger));
    // Published in waves, verified while the processors are working through them.
    const publishing = publishDeliveries(testKafka(), topics.names.deliveries, stream, 100);
    const during: VerifyReport[] = [];
    let published = false;
    void publishing.finally(() => {
      published = true;
    });
    while (!published || during.length < 2) during.push(await verify(topics, config));
    await publishing;
    for (const report of during) {
      expect(report.series.differences).toEqual([]);
      expect(report.ok).toBe(true);
    }
    // Some ran before the processors caught up: the cut was mid-stream, not at the end.
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    const final = await verify(topics, config);
    expect(final.series.differences).toEqual([]);
    expect(final).toMatchObject({ ok: true, deliveries: stream.length });
    expect(final.partitions).toMatchObject({ total: 3, compared: 3, truncated: [], unpositioned: [] });
    expect(final.series.compared).toBeGreaterThan(20);
    expect(final.series.equal).toBe(final.series.compared);
    expect(final.series.unsettled).toBe(0);
    expect(during.some((r) => r.deliveries < stream.length)).toBe(true);
    // Not vacuous: the compared series include flaky jobs counted (from the re-run records),
    // busy runners, the pools' demand and the last-received maximum, each above 0 somewhere.
    const families = new Set<string>();
    for (let p = 0; p < 3; p++)
      for (const v of (await liveOf(topics, p)).series.values())
        if (v.kind !== 'histogram' && v.value > 0) families.add(v.name);
    expect([...families]).toEqual(
      expect.arrayContaining([
        'github_actions_jobs_flaky_total',
        'github_actions_runners_busy',
        'github_actions_pool_queued_jobs',
        'runstream_delivery_last_received_timestamp_seconds',
      ]),
    );
    for (const handle of handles.splice(0).reverse()) await handle.close();
  });

  it('names a corrupted aggregate record, with both values', async () => {
    const partition = 0;
    const { series, position } = await liveOf(topics, partition);
    const [key, value] = [...series].find(([, v]) => v.kind === 'counter' && v.value > 0)!;
    if (value.kind !== 'counter') throw new Error('unreachable');
    await writeAggregates(topics, partition, position, [
      { seriesKey: key, value: { ...value, value: value.value + 5 } },
    ]);

    const report = await verify(topics, config);
    expect(report.ok).toBe(false);
    expect(report.series).toMatchObject({ different: 1, onlyLive: 0, onlyRecomputed: 0 });
    expect(report.series.differences).toEqual([
      {
        partition,
        kind: 'different',
        name: value.name,
        labels: value.labels,
        live: String(value.value + 5),
        recomputed: String(value.value),
      },
    ]);
    await writeAggregates(topics, partition, position, [{ seriesKey: key, value }]);
    expect((await verify(topics, config)).ok).toBe(true);
  });

  it('names a lost changelog record', async () => {
    const partition = 1;
    const { series, position } = await liveOf(topics, partition);
    const [key, value] = [...series].find(([, v]) => v.kind === 'histogram')!;
    await writeAggregates(topics, partition, position, [{ seriesKey: key, value: null }]);

    const report = await verify(topics, config);
    expect(report.ok).toBe(false);
    expect(report.series).toMatchObject({ different: 0, onlyLive: 0, onlyRecomputed: 1 });
    expect(report.series.differences).toMatchObject([
      { partition, kind: 'only_recomputed', name: value.name, labels: value.labels, live: null },
    ]);
    await writeAggregates(topics, partition, position, [{ seriesKey: key, value }]);
  });

  it('names every series of a delivery counted twice, through the CLI (exit 1, --json)', async () => {
    const partition = 2;
    const { series, position } = await liveOf(topics, partition);
    // A completed job of this partition, as the deliveries topic holds it.
    const completed = (await readTopic(topics.names.deliveries))
      .filter((r) => r.partition === partition)
      .map((r) => codecs.delivery.decode(r.message.value!))
      .map((d) => parseDelivery(d.event, JSON.parse(d.body.toString('utf8'))))
      .flatMap((p) =>
        p.ok && p.observation.kind === 'job' && p.observation.status === 'completed' ? [p.observation] : [],
      )
      .find((o) => o.startedAt !== null && o.completedAt !== null)!;
    // Its first-transition increments applied once more to the live values.
    const doubled = applyJob(undefined, completed, Date.now()).deltas.map((delta) => {
      const seriesKey = config.catalogue.seriesKey(delta.name, delta.labels);
      return { seriesKey, value: applyDelta(series.get(seriesKey), delta, config.catalogue) };
    });
    expect(doubled.length).toBeGreaterThan(0);
    await writeAggregates(topics, partition, position, doubled);

    const cli = startCli(['verify', '--json'], env(topics));
    let stdout = '';
    cli.child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    expect(await cli.exited(), cli.log()).toBe(1);
    const report = JSON.parse(stdout) as VerifyReport;
    expect(report.ok).toBe(false);
    expect(report.series.different).toBe(doubled.length);
    expect(report.series.differences.map((d) => [d.partition, d.name, d.labels]).sort()).toEqual(
      doubled.map((d) => [partition, d.value.name, d.value.labels]).sort(),
    );
    for (const d of report.series.differences) {
      const live = doubled.find((x) => x.value.name === d.name)!.value;
      expect(d.live).toBe(
        live.kind === 'histogram'
          ? `count=${live.count} sum=${live.sum} buckets=[${live.bucketCounts.join(',')}]`
          : String(live.kind === 'counter' ? live.value : ''),
      );
    }
    await writeAggregates(
      topics,
      partition,
      position,
      doubled.map((d) => ({ seriesKey: d.seriesKey, value: series.get(d.seriesKey) ?? null })),
    );
    const clean = startCli(['verify'], env(topics));
    expect(await clean.exited(), clean.log()).toBe(0);
    expect(clean.log()).toMatch(/^ok: \d+ series compared in 3 of 3 partitions/m);
  });

  it('exits 3 when Kafka cannot be reached', async () => {
    const cli = startCli(['verify'], { ...env(topics), KAFKA_BROKERS: '127.0.0.1:1' });
    expect(await cli.exited(), cli.log()).toBe(3);
    expect(cli.log()).toMatch(/verify could not complete/);
  });
});
