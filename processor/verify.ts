// `runstream verify`: recomputes every series from the retained deliveries and compares it
// with the live aggregates, at a consistent cut (docs/verify.md).
//
// The cut. A processor commits, per input partition p, the changelog records of a chunk of
// deliveries and the chunk's next input offset in one Kafka transaction, and the last
// aggregates record of every transaction is `<p>|#input` = that offset (schemas/
// changelog.ts). Verify reads aggregates changelog partition p read_committed to the end
// offset it saw at start and keeps the state as of the last position record it read
// (processor/verify/cut.ts): a transaction's records and its position are in the same
// partition and become visible together, so that state is exactly what the deliveries
// [0, position) made, however fast the processors go, whichever processor owned p, across
// fencing and restarts (an aborted transaction is never visible; a zombie is fenced).
// Nothing is read from the group's committed offsets, which become visible through
// another partition (__consumer_offsets) and could be seen before or after the changelog.
// Then it replays deliveries [0, position) of p through the processor's rules into a fresh
// temporary store, expires stale entities as housekeeping does, and compares.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { Offsets, partitionKey } from '../platform/offsets.js';
import { PartitionReader } from '../platform/partition-reader.js';
import type { TopicNames } from '../platform/topics.js';
import { decodeAggregate, isReservedKey } from '../schemas/changelog.js';
import type { AggregateValue } from '../schemas/model.js';
import type { ProcessorConfig } from './config.js';
import { comparePartition, emptyComparison } from './verify/compare.js';
import { AggregatesCut } from './verify/cut.js';
import { PartitionRecompute } from './verify/recompute.js';
import { isClean, type VerifyReport } from './verify/report.js';

export { pushVerifyMetrics } from './verify/push.js';
export { formatReport, type VerifyReport } from './verify/report.js';

export interface VerifyProgress {
  phase: 'cut' | 'recompute';
  /** Deliveries recomputed so far, and to recompute in all (known once the cut is read). */
  done: number;
  total: number;
}

export interface VerifyOptions {
  kafka: KafkaPort;
  topics: TopicNames;
  config: Pick<
    ProcessorConfig,
    'catalogue' | 'limits' | 'groupId' | 'storeCacheBytes' | 'storeWriteBufferBytes'
  >;
  logger: Logger;
  /** Differences listed in the report (all are counted). */
  maxDifferences: number;
  /** Where the temporary stores go (removed at the end); a fresh folder in the OS temp dir by default. */
  workDir?: string;
  onProgress?: (progress: VerifyProgress) => void;
  /** A read that makes no progress for this long fails verify. */
  stallMs?: number;
  now?: () => number;
}

/** Deliveries per store write: larger than a processor's transaction, for speed; results do not depend on it. */
const CHUNK = 2000;

export async function verifyPipeline(options: VerifyOptions): Promise<VerifyReport> {
  const { kafka, topics, config, logger } = options;
  const now = options.now ?? Date.now;
  const stallMs = options.stallMs ?? 60_000;
  const startedAt = now();
  const workDir = options.workDir ?? join(tmpdir(), `runstream-verify-${randomUUID()}`);

  const offsets = new Offsets(kafka);
  let deliveryEnds: Awaited<ReturnType<Offsets['ends']>>;
  let aggregateEnds: Awaited<ReturnType<Offsets['ends']>>;
  try {
    deliveryEnds = await offsets.ends(topics.deliveries);
    aggregateEnds = await offsets.ends(topics.aggregatesChangelog);
  } finally {
    await offsets.close();
  }
  const partitions = [...deliveryEnds.keys()].sort((a, b) => a - b);

  // 1. The live aggregates at the cut, per partition.
  options.onProgress?.({ phase: 'cut', done: 0, total: 0 });
  const cuts = new Map(partitions.map((p) => [p, new AggregatesCut(p)]));
  await readPartitions(
    kafka,
    logger,
    `${config.groupId}-verify-`,
    partitions.map((p) => ({ partition: p, to: aggregateEnds.get(p)?.high ?? 0n })),
    topics.aggregatesChangelog,
    stallMs,
    (partition, messages) => {
      const cut = cuts.get(partition)!;
      for (const m of messages) if (m.key) cut.apply(m.key.toString(), m.value);
    },
  );

  const cutMs = now() - startedAt;

  // 2. Which partitions can be compared, and up to where.
  const truncated: number[] = [];
  const unpositioned: number[] = [];
  const targets = new Map<number, bigint>();
  for (const p of partitions) {
    const ends = deliveryEnds.get(p)!;
    const position = cuts.get(p)!.position ?? (ends.high === 0n ? 0n : undefined);
    if (position === undefined) unpositioned.push(p);
    else if (ends.low > 0n) truncated.push(p);
    else targets.set(p, position);
  }
  const total = [...targets.values()].reduce((n, v) => n + Number(v), 0);

  // 3. Recompute: deliveries [0, position) of each partition through a fresh store.
  const recomputes = new Map<number, PartitionRecompute>();
  const firstOffsets = new Map<number, bigint>();
  let done = 0;
  try {
    for (const p of targets.keys()) {
      recomputes.set(
        p,
        await PartitionRecompute.open({
          location: join(workDir, String(p)),
          partition: p,
          catalogue: config.catalogue,
          limits: config.limits,
          chunkSize: CHUNK,
          now,
          memory: { cacheBytes: config.storeCacheBytes, writeBufferBytes: config.storeWriteBufferBytes },
        }),
      );
    }
    options.onProgress?.({ phase: 'recompute', done, total });
    await readPartitions(
      kafka,
      logger,
      `${config.groupId}-verify-`,
      [...targets].map(([partition, to]) => ({ partition, to })),
      topics.deliveries,
      stallMs,
      async (partition, messages) => {
        const to = targets.get(partition)!;
        const records = messages
          .filter((m) => BigInt(m.offset) < to)
          .map((m) => ({ offset: m.offset, value: m.value }));
        if (records.length === 0) return;
        if (!firstOffsets.has(partition)) firstOffsets.set(partition, BigInt(records[0]!.offset));
        await recomputes.get(partition)!.apply(records);
        done += records.length;
        options.onProgress?.({ phase: 'recompute', done, total });
      },
    );

    const recomputeMs = now() - startedAt - cutMs;

    // 4. Compare, partition by partition.
    const series = emptyComparison();
    const at = now();
    for (const [p, recompute] of recomputes) {
      // Retention may have deleted the oldest deliveries while verify read the cut.
      if ((firstOffsets.get(p) ?? 0n) > 0n) {
        truncated.push(p);
        targets.delete(p);
        continue;
      }
      const unsettled = await recompute.expire(at);
      comparePartition(
        series,
        p,
        liveSeries(cuts.get(p)!),
        await recompute.aggregates(),
        unsettled,
        options.maxDifferences,
      );
    }
    const durationMs = now() - startedAt;
    const report: VerifyReport = {
      startedAt: new Date(startedAt).toISOString(),
      durationMs,
      deliveries: done,
      deliveriesPerSecond: durationMs > 0 ? (done * 1000) / durationMs : 0,
      phasesMs: { cut: cutMs, recompute: recomputeMs, compare: durationMs - cutMs - recomputeMs },
      partitions: {
        total: partitions.length,
        compared: targets.size,
        truncated: truncated.sort((a, b) => a - b),
        unpositioned,
      },
      cut: [...targets].map(([partition, position]) => ({ partition, position: position.toString() })),
      series,
      ok: false,
    };
    report.ok = isClean(report);
    logger.info(
      { ...report, series: { ...series, differences: series.differences.length }, cut: undefined },
      'verify finished',
    );
    return report;
  } finally {
    for (const recompute of recomputes.values()) await recompute.close();
  }
}

/** The cut's series, decoded (admission and position records left out). */
function liveSeries(cut: AggregatesCut): Map<string, AggregateValue> {
  const out = new Map<string, AggregateValue>();
  for (const [key, bytes] of cut.values) if (!isReservedKey(key)) out.set(key, decodeAggregate(bytes));
  return out;
}

/** Reads partitions of a topic from the earliest retained record up to (excluding) `to`. */
async function readPartitions(
  kafka: KafkaPort,
  logger: Logger,
  groupPrefix: string,
  wanted: ReadonlyArray<{ partition: number; to: bigint }>,
  topic: string,
  stallMs: number,
  onBatch: (
    partition: number,
    messages: ReadonlyArray<{ offset: string; key: Buffer | null; value: Buffer | null }>,
  ) => Promise<void> | void,
): Promise<void> {
  const reading = wanted.filter((w) => w.to > 0n);
  if (reading.length === 0) return;
  // Larger fetches than kafkajs' defaults (10 MB, 1 MB a partition): fewer round trips and
  // larger chunks per store write; at most this much is buffered.
  const reader = new PartitionReader(kafka, logger, groupPrefix, {
    maxBytes: 32 * 1024 * 1024,
    maxBytesPerPartition: 8 * 1024 * 1024,
  });
  try {
    await reader.start(
      reading.map((w) => ({ topic, partition: w.partition, from: 'earliest' as const })),
      (_topic, partition, messages) => onBatch(partition, messages),
    );
    await reader.waitForPositions(
      new Map(reading.map((w) => [partitionKey(topic, w.partition), w.to])),
      stallMs,
    );
  } finally {
    await reader.stop();
  }
}
