// The processor against a real broker and real RocksDB: dedupe across ingest
// replicas, restore from changelogs (full and from the local checkpoint), and bad
// records skipped without stopping the partition. The committed series are checked
// against the oracle (test/support/oracle.ts, from the stream's truth, no core code);
// streams are dated from now, so no unfinished entity expires while a test runs.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AttemptTruth, type GeneratedDelivery, generateScenario } from '../../demo/stream.js';
import { readIngestConfig, startIngest } from '../../ingest/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { type ProcessorConfig, readProcessorConfig, startProcessor } from '../../processor/main.js';
import { recountGauges } from '../../processor/recount.js';
import { RocksStore } from '../../processor/store.js';
import { QUEUE_INDEX_PREFIX, readCheckpoint, storeOpsFor } from '../../processor/store-layout.js';
import { partitionForKey } from '../../schemas/delivery.js';
import { committedSeries, diffFromOracle } from '../support/committed.js';
import {
  brokers,
  createTestTopics,
  readTopic,
  type TestTopics,
  testKafka,
  testLogger,
} from '../support/kafka.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';
import { deliveredAt, publishDeliveries, recentStartMs, waitForGroup } from '../support/publish.js';
import { restoreCounts } from '../support/restores.js';
import { comparable, comparableEntities, expectedEntities, foldChangelogs } from '../support/state.js';
import { example, retimed, signedRequest } from '../support/webhooks.js';

const ROCKSDB5_STORE = new URL('../fixtures/rocksdb5-store/', import.meta.url).pathname;

function processorConfig(topics: TestTopics, stateDir: string): ProcessorConfig {
  return {
    ...readProcessorConfig({
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: String(topics.partitions),
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '6s',
    }),
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
  };
}

/**
 * What the processors committed is right: every series as the oracle computes it from the
 * stream's truth, and every run and job as the core folds the input. The second is a
 * comparison with the core, kept because the oracle speaks of served series only and says
 * nothing of the per-entity state a processor holds, commits and restores.
 */
async function expectCommitted(
  topics: TestTopics,
  deliveries: readonly GeneratedDelivery[],
  truth: readonly AttemptTruth[],
): Promise<void> {
  expect(await diffFromOracle(topics.names, truth)).toEqual([]);
  expect(comparableEntities(await foldChangelogs(topics.names))).toEqual(expectedEntities(deliveries));
}

async function metricValue(port: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = line.exec(text);
  return match ? Number(match[1]) : 0;
}

describe('processor against a real broker and RocksDB', () => {
  let topics: TestTopics;
  let stateDir: string;
  const handles: RoleHandle[] = [];

  beforeEach(async () => {
    topics = await createTestTopics(3);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-processor-'));
  });
  afterEach(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('applies a delivery sent five times through two ingest replicas once', async () => {
    const ingestConfig = {
      ...readIngestConfig({
        KAFKA_BROKERS: brokers().join(','),
        RUNSTREAM_TOPIC_PREFIX: topics.prefix,
        RUNSTREAM_PARTITIONS: String(topics.partitions),
        RUNSTREAM_WEBHOOK_SECRET: 's',
      }),
      port: 0,
      host: '127.0.0.1',
    };
    const ingests = [
      await startIngest(ingestConfig, testLogger),
      await startIngest(ingestConfig, testLogger),
    ];
    handles.push(...ingests);
    const processor = await startProcessor(processorConfig(topics, stateDir), testLogger);
    handles.push(processor);

    const lifecycle = ['queued', 'in_progress', 'completed'].map((action) =>
      retimed(example('workflow_job', action)),
    );
    for (const payload of lifecycle) {
      (payload.workflow_job as { id: number }).id = 4242;
      const request = await signedRequest('workflow_job', payload, 's');
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`http://127.0.0.1:${ingests[i % 2]!.port}/webhook`, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
        });
        expect(response.status).toBe(202);
      }
    }
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);

    const state = await foldChangelogs(topics.names);
    const completed = [...state.aggregates.values()].filter(
      (a) => a.name === 'github_actions_jobs_completed_total',
    );
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ kind: 'counter', value: 1 });
    expect(state.jobs.get('4242')?.status).toBe('completed');
    expect(
      await metricValue(processor.port, /runstream_processor_deliveries_total\{result="duplicate"\} (\d+)/),
    ).toBe(12);
    const applied = await metricValue(
      processor.port,
      /runstream_processor_deliveries_total\{result="applied"\} (\d+)/,
    );
    const stale = await metricValue(
      processor.port,
      /runstream_processor_deliveries_total\{result="stale"\} (\d+)/,
    );
    expect(applied + stale).toBe(3);
  });

  it('restores from the changelogs when the state directory is wiped, and reads only the tail when intact', async () => {
    const { deliveries: stream, truth } = generateScenario({ seed: 7, runs: 30, startMs: recentStartMs() });
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    const first = await startProcessor(processorConfig(topics, stateDir), testLogger);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await first.close();
    await expectCommitted(topics, stream, truth);
    const committed = comparable(await foldChangelogs(topics.names));

    // Intact directory: the checkpoint covers everything, nothing is re-read.
    const warm = await startProcessor(processorConfig(topics, stateDir), testLogger);
    handles.push(warm);
    await waitForReady(warm.port);
    expect(await restoreCounts(warm.processor.metrics)).toEqual({ checkpoint: 3, full: 0, records: 0 });
    await handles.pop()!.close();

    // Wiped directory: everything comes back from the changelogs.
    await rm(stateDir, { recursive: true, force: true });
    const cold = await startProcessor(processorConfig(topics, stateDir), testLogger);
    handles.push(cold);
    await waitForReady(cold.port);
    const coldRestores = await restoreCounts(cold.processor.metrics);
    expect(coldRestores).toMatchObject({ checkpoint: 0, full: 3 });
    expect(coldRestores.records).toBeGreaterThan(0);

    // The restored state is the same state: replaying the input again is all duplicates.
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    const unique = new Set(stream.map((d) => d.id)).size;
    expect(
      await metricValue(cold.port, /runstream_processor_deliveries_total\{result="duplicate"\} (\d+)/),
    ).toBe(stream.length);
    expect(unique).toBeLessThan(stream.length);
    // Not one record's value changed, and the series are still the oracle's.
    expect(comparable(await foldChangelogs(topics.names))).toEqual(committed);
    expect(await diffFromOracle(topics.names, truth)).toEqual([]);
  });

  it('restores in full a state directory the rocksdb@5 binding wrote, which this build cannot read', async () => {
    const { deliveries: stream, truth } = generateScenario({ seed: 11, runs: 20, startMs: recentStartMs() });
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    const first = await startProcessor(processorConfig(topics, stateDir), testLogger);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await first.close();
    await expectCommitted(topics, stream, truth);
    const committed = comparable(await foldChangelogs(topics.names));

    // Every partition's store as the previous release left it: RocksDB 6 with Snappy.
    const groupDir = join(stateDir, `${topics.prefix}processor`);
    const entries = await readdir(groupDir);
    // That release marked no store warm (processor/state-dirs.ts): every store counts.
    for (const mark of entries.filter((name) => name.endsWith('.warm'))) await rm(join(groupDir, mark));
    const partitions = entries.filter((name) => !name.endsWith('.warm'));
    expect(partitions).toHaveLength(topics.partitions);
    for (const partition of partitions) {
      await rm(join(groupDir, partition), { recursive: true, force: true });
      await cp(ROCKSDB5_STORE, join(groupDir, partition), { recursive: true });
    }

    const upgraded = await startProcessor(processorConfig(topics, stateDir), testLogger);
    handles.push(upgraded);
    await waitForReady(upgraded.port);
    const restores = await restoreCounts(upgraded.processor.metrics);
    expect(restores).toMatchObject({ checkpoint: 0, full: topics.partitions });
    expect(restores.records).toBeGreaterThan(0);
    // Nothing of the old stores survives (its runs would be extra state), and the restored
    // state is the state: replaying the input is all duplicates.
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    expect(
      await metricValue(upgraded.port, /runstream_processor_deliveries_total\{result="duplicate"\} (\d+)/),
    ).toBe(stream.length);
    expect(comparable(await foldChangelogs(topics.names))).toEqual(committed);
    expect(await diffFromOracle(topics.names, truth)).toEqual([]);
    await handles.pop()!.close();
    for (const partition of partitions) {
      const store = await RocksStore.open(join(groupDir, partition));
      expect(store.replaced).toBeUndefined();
      expect(await store.get('r|00000')).toBeUndefined();
      await store.close();
    }
  });

  it('reads exactly the changelog records written since its checkpoint', async () => {
    const changelogRecords = async () => {
      let n = 0;
      for (const topic of [
        topics.names.dedupeChangelog,
        topics.names.runsChangelog,
        topics.names.jobsChangelog,
        topics.names.aggregatesChangelog,
      ])
        n += (await readTopic(topic)).length;
      return n;
    };
    const first = generateScenario({ seed: 21, runs: 10, startMs: recentStartMs() });
    await publishDeliveries(testKafka(), topics.names.deliveries, first.deliveries);
    const owner = await startProcessor(processorConfig(topics, stateDir), testLogger);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await owner.close();
    const atCheckpoint = await changelogRecords();

    // Another instance (its own disk) works on while the first is away.
    const otherDir = await mkdtemp(join(tmpdir(), 'runstream-processor-other-'));
    try {
      const other = await startProcessor(processorConfig(topics, otherDir), testLogger);
      const second = generateScenario({
        seed: 22,
        runs: 10,
        firstRunId: 8_000_000_000,
        startMs: recentStartMs(),
      });
      await publishDeliveries(testKafka(), topics.names.deliveries, second.deliveries);
      await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
      await other.close();
      const tail = (await changelogRecords()) - atCheckpoint;
      expect(tail).toBeGreaterThan(0);

      const back = await startProcessor(processorConfig(topics, stateDir), testLogger);
      handles.push(back);
      await waitForReady(back.port);
      expect(await restoreCounts(back.processor.metrics)).toEqual({ checkpoint: 3, full: 0, records: tail });
      await expectCommitted(
        topics,
        [...first.deliveries, ...second.deliveries],
        [...first.truth, ...second.truth],
      );
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('keeps the queued-jobs index through a checkpoint restore whose tail starts and queues jobs', async () => {
    const config = processorConfig(topics, stateDir);
    const storeOf = (dir: string, partition: number) =>
      RocksStore.open(join(dir, config.groupId, `partition-${partition}`));
    const indexOf = async (dir: string) => {
      const keys: string[] = [];
      for (let partition = 0; partition < topics.partitions; partition++) {
        const store = await storeOf(dir, partition);
        for await (const [key] of store.scan(QUEUE_INDEX_PREFIX)) keys.push(`${partition}:${key}`);
        await store.close();
      }
      return keys.sort();
    };
    // The checkpoint holds queued jobs; the tail starts and completes them (index entries
    // removed) and queues jobs of other runs (entries added).
    const queuing = (d: { action: string }) => d.action === 'queued' || d.action === 'requested';
    const now = Date.now() - 3_600_000;
    const stream = generateScenario({ seed: 31, runs: 12, startMs: now }).deliveries;
    const more = generateScenario({ seed: 32, runs: 6, startMs: now, firstRunId: 8_000_000_000 }).deliveries;
    await publishDeliveries(testKafka(), topics.names.deliveries, stream.filter(queuing));
    const owner = await startProcessor(config, testLogger);
    await waitForGroup(testKafka(), config.groupId, topics.names.deliveries);
    await owner.close();
    const atCheckpoint = await indexOf(stateDir);

    const otherDir = await mkdtemp(join(tmpdir(), 'runstream-processor-other-'));
    try {
      const other = await startProcessor(processorConfig(topics, otherDir), testLogger);
      const tail = [...stream.filter((d) => !queuing(d)), ...more.filter(queuing)];
      await publishDeliveries(testKafka(), topics.names.deliveries, tail);
      await waitForGroup(testKafka(), config.groupId, topics.names.deliveries);
      await other.close();
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }

    const back = await startProcessor(config, testLogger);
    await waitForReady(back.port);
    const restores = await restoreCounts(back.processor.metrics);
    await back.close();
    expect(restores).toMatchObject({ checkpoint: 3, full: 0 });
    expect(restores.records).toBeGreaterThan(0);

    // The index the tail kept equals the one a recount builds (in place) from the restored jobs.
    const kept = await indexOf(stateDir);
    for (let partition = 0; partition < topics.partitions; partition++) {
      const store = await storeOf(stateDir, partition);
      await recountGauges(store, Date.now(), config.catalogue);
      await store.close();
    }
    const rebuilt = await indexOf(stateDir);
    expect(rebuilt.length).toBeGreaterThan(0);
    expect(kept).toEqual(rebuilt);
    // The tail both removed entries of the checkpoint and added new ones.
    expect(atCheckpoint.some((key) => !kept.includes(key))).toBe(true);
    expect(kept.some((key) => !atCheckpoint.includes(key))).toBe(true);
  });

  it('restores in full when its checkpoint is older than the changelog keeps tombstones', async () => {
    const stream = generateScenario({ seed: 23, runs: 8, startMs: recentStartMs() }).deliveries;
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    const config = processorConfig(topics, stateDir);
    const first = await startProcessor(config, testLogger);
    await waitForGroup(testKafka(), config.groupId, topics.names.deliveries);
    await first.close();

    // As if the instance had been away for two days.
    for (let partition = 0; partition < topics.partitions; partition++) {
      const store = await RocksStore.open(join(stateDir, config.groupId, `partition-${partition}`));
      const { offsets } = await readCheckpoint(store);
      await store.write(storeOpsFor([], offsets, Date.now() - 2 * 86_400_000));
      await store.close();
    }
    const back = await startProcessor(config, testLogger);
    handles.push(back);
    await waitForReady(back.port);
    const restores = await restoreCounts(back.processor.metrics);
    expect(restores).toMatchObject({ checkpoint: 0, full: 3 });
    expect(restores.records).toBeGreaterThan(0);
  });

  it('fences the previous owner before restoring, so its open transaction cannot commit behind the restore', async () => {
    const kafka = testKafka();
    const config = processorConfig(topics, stateDir);
    // A previous owner of partition 0, paused in the middle of a transaction.
    const zombie = kafka.transactionalProducer({
      transactionalId: `${config.groupId}-${topics.names.deliveries}-0`,
    });
    await zombie.init();
    try {
      const transaction = await zombie.begin();
      await transaction.send([
        {
          topic: topics.names.dedupeChangelog,
          records: [{ key: 'zombie-delivery', value: Buffer.from('x'), partition: 0 }],
        },
      ]);
      const processor = await startProcessor(config, testLogger);
      handles.push(processor);
      await waitForReady(processor.port);
      await expect(transaction.commit()).rejects.toThrow();
    } finally {
      await zombie.disconnect();
    }
    const markers = await readTopic(topics.names.dedupeChangelog);
    expect(markers.some((m) => m.message.key?.toString() === 'zombie-delivery')).toBe(false);
  });

  it('replaces a partition task whose transaction failed (fenced) and loses nothing', async () => {
    const kafka = testKafka();
    const config = processorConfig(topics, stateDir);
    const first = generateScenario({ seed: 41, runs: 12, startMs: recentStartMs() });
    await publishDeliveries(kafka, topics.names.deliveries, first.deliveries);
    const processor = await startProcessor(config, testLogger);
    handles.push(processor);
    await waitForGroup(kafka, config.groupId, topics.names.deliveries);
    const before = await restoreCounts(processor.processor.metrics);

    // Another producer, not a member of the group, takes every partition's
    // transactional id: the running tasks' next transactions fail, fenced. The group
    // still assigns the partitions to the processor, so the fencer is a zombie and the
    // new tasks take the ids back at once instead of waiting for a rebalance.
    const fencers = [];
    for (let partition = 0; partition < topics.partitions; partition++) {
      const fencer = kafka.transactionalProducer({
        transactionalId: `${config.groupId}-${topics.names.deliveries}-${partition}`,
      });
      // Taking the transactional id fences its producer of an older epoch.
      await fencer.init();
      fencers.push(fencer);
    }
    try {
      const second = generateScenario({
        seed: 42,
        runs: 12,
        firstRunId: 8_100_000_000,
        startMs: recentStartMs(),
      });
      await publishDeliveries(kafka, topics.names.deliveries, second.deliveries);
      await waitForGroup(kafka, config.groupId, topics.names.deliveries, 30_000);
      expect(
        await metricValue(processor.port, /runstream_processor_task_failures_total\{reason="fenced"\} (\d+)/),
      ).toBeGreaterThan(0);
      await expectCommitted(
        topics,
        [...first.deliveries, ...second.deliveries],
        [...first.truth, ...second.truth],
      );
      // Each replaced task restored again (from its checkpoint) before going on.
      const after = await restoreCounts(processor.processor.metrics);
      expect(after.checkpoint).toBeGreaterThan(before.checkpoint);
      expect(after.full).toBe(before.full);
    } finally {
      for (const fencer of fencers) await fencer.disconnect();
    }
  });

  it('skips and counts a garbage record, and applies the records after it', async () => {
    const kafka = testKafka();
    const producer = kafka.recordProducer();
    await producer.connect();
    const { deliveries: stream, truth } = generateScenario({
      seed: 11,
      runs: 3,
      duplicateRate: 0,
      startMs: recentStartMs(),
    });
    const runId = '7000000000';
    const partition = partitionForKey(runId, topics.partitions);
    await producer.send([
      {
        topic: topics.names.deliveries,
        records: [
          { key: runId, value: Buffer.from('definitely not avro'), partition },
          { key: runId, value: Buffer.from([0, 0, 0, 0, 1, 0x02]), partition },
        ],
      },
    ]);
    await producer.disconnect();
    await publishDeliveries(kafka, topics.names.deliveries, stream);
    const processor = await startProcessor(processorConfig(topics, stateDir), testLogger);
    handles.push(processor);
    await waitForGroup(kafka, `${topics.prefix}processor`, topics.names.deliveries);
    expect(
      await metricValue(processor.port, /runstream_processor_deliveries_total\{result="invalid"\} (\d+)/),
    ).toBe(2);
    await expectCommitted(topics, stream, truth);
  });
});

async function waitForReady(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`processor on ${port} not ready within ${timeoutMs} ms`);
}

describe('processor housekeeping against a real broker', () => {
  it('expires stale entities, counts them, and tombstones completed ones after retention', async () => {
    const topics = await createTestTopics(2);
    const stateDir = await mkdtemp(join(tmpdir(), 'runstream-housekeeping-'));
    const config = {
      ...readProcessorConfig({
        KAFKA_BROKERS: brokers().join(','),
        RUNSTREAM_TOPIC_PREFIX: topics.prefix,
        RUNSTREAM_STATE_DIR: stateDir,
        RUNSTREAM_HOUSEKEEPING_INTERVAL: '500ms',
        RUNSTREAM_COMPLETED_RETENTION: '2s',
        RUNSTREAM_DEDUPE_WINDOW: '2s',
        // Generated events are a day old (demo/stream.ts), so unfinished ones are all stale now.
        RUNSTREAM_QUEUED_JOB_MAX_AGE: '1h',
        RUNSTREAM_RUNNING_JOB_MAX_AGE_HOSTED: '1h',
        RUNSTREAM_RUNNING_JOB_MAX_AGE_SELF_HOSTED: '1h',
        RUNSTREAM_RUN_MAX_AGE: '1h',
      }),
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
    };
    const processor = await startProcessor(config, testLogger);
    try {
      const { deliveries: stream, truth } = generateScenario({ seed: 77, runs: 20, unfinishedRate: 0.5 });
      // Received when they happened (as a replay keeps them): with a 2 s dedupe window,
      // events received a day late would start nothing.
      await publishDeliveries(testKafka(), topics.names.deliveries, stream, 200, deliveredAt);
      await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
      // What the stream's truth leaves unfinished (no core code).
      const unfinishedJobs = truth.flatMap((a) => a.jobs).filter((j) => j.status !== 'completed').length;
      const unfinishedRuns = truth.filter((a) => a.status !== 'completed').length;
      expect(unfinishedJobs).toBeGreaterThan(0);
      expect(unfinishedRuns).toBeGreaterThan(0);

      // Everything is tombstoned eventually: completed after retention, expired ones
      // after retention too, dedupe markers after the window.
      const deadline = Date.now() + 60_000;
      let state = await foldChangelogs(topics.names);
      while ((state.runs.size > 0 || state.jobs.size > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        state = await foldChangelogs(topics.names);
      }
      expect(state.runs.size).toBe(0);
      expect(state.jobs.size).toBe(0);
      const text = await (await fetch(`http://127.0.0.1:${processor.port}/metrics`)).text();
      const expired = (kind: string) =>
        [
          ...text.matchAll(
            new RegExp(
              `runstream_processor_entities_expired_total\\{kind="${kind}",reason="[a-z_]+"\\} (\\d+)`,
              'g',
            ),
          ),
        ]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0);
      expect(expired('job')).toBe(unfinishedJobs);
      expect(expired('run')).toBe(unfinishedRuns);
      // Aggregates are never tombstoned by housekeeping: counters and histograms survive
      // their entities (the oracle's), while every gauge emptied with the expiries.
      const histogramsAndCounters = new Map(
        [...expectedSeries(truth)].filter(([key]) => /(_total|_bucket|_sum|_count)\{/.test(key)),
      );
      expect(seriesDiff(await committedSeries(topics.names), histogramsAndCounters)).toEqual([]);
      const markers = await readTopic(topics.names.dedupeChangelog);
      expect(markers.some((m) => m.message.value === null)).toBe(true);
    } finally {
      await processor.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
