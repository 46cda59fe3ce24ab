// The processor shell over the fake Kafka port (test/support/fake-kafka/) and real
// RocksDB in a temporary directory: topics, configuration, a log that keeps its lines,
// deliveries put on the input topic as ingest puts them, and what Kafka committed, read
// back independently of the shell (the oracle of the shell's unit tests).
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { generateStream } from '../../demo/stream.js';
import type { Logger } from '../../platform/log.js';
import { Offsets } from '../../platform/offsets.js';
import { type TopicNames, topicNames } from '../../platform/topics.js';
import { type ProcessorConfig, readProcessorConfig } from '../../processor/config.js';
import { createProcessorMetrics, type ProcessorMetrics } from '../../processor/metrics.js';
import { RestoreSlots } from '../../processor/restore-slots.js';
import { ChangelogRestorer } from '../../processor/restorer.js';
import { RocksStore } from '../../processor/store.js';
import { type OpenStore, PartitionTask, type TaskDeps } from '../../processor/task.js';
import { type ChangelogKind, changelogTopic } from '../../schemas/changelog.js';
import { codecs } from '../../schemas/codecs.js';
import { partitionForKey } from '../../schemas/delivery.js';
import { FakeKafka } from './fake-kafka/index.js';
import { toDelivery } from './publish.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger (debug and up) whose lines a test can read. */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export const ERROR = 50;
export const WARN = 40;

export interface Shell {
  kafka: FakeKafka;
  topics: TopicNames;
  partitions: number;
  config: ProcessorConfig;
  metrics: ProcessorMetrics;
  registry: Registry;
  logger: Logger;
  lines: LogLine[];
  offsets: Offsets;
  restorer: ChangelogRestorer;
  slots: RestoreSlots;
}

/** A fake cluster with runstream's topics, and the processor's configuration over a state directory. */
export function shell(
  stateDir: string,
  options: { partitions?: number; env?: Record<string, string> } = {},
): Shell {
  const partitions = options.partitions ?? 2;
  const prefix = 'unit-';
  const kafka = new FakeKafka();
  const topics = topicNames(prefix);
  for (const topic of Object.values(topics)) kafka.cluster.createTopic(topic, partitions);
  const config = readProcessorConfig({
    RUNSTREAM_TOPIC_PREFIX: prefix,
    RUNSTREAM_PARTITIONS: String(partitions),
    RUNSTREAM_STATE_DIR: stateDir,
    ...options.env,
  });
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const offsets = new Offsets(kafka, 1000);
  return {
    kafka,
    topics,
    partitions,
    config,
    registry,
    metrics: createProcessorMetrics(registry),
    logger,
    lines,
    offsets,
    restorer: new ChangelogRestorer(kafka, topics, logger, `${config.groupId}-restore-`, 2000),
    slots: new RestoreSlots(1),
  };
}

export const openRocksStore: OpenStore = (location) => RocksStore.open(location);

/** A partition task of the shell, as the processor composes one (a state directory of its own if given). */
export function task(
  s: Shell,
  partition: number,
  overrides: Partial<Pick<TaskDeps, 'distrust' | 'openStore' | 'config' | 'now'>> = {},
): PartitionTask {
  return new PartitionTask({
    kafka: s.kafka,
    topics: s.topics,
    partition,
    config: s.config,
    logger: s.logger.child({ partition }),
    metrics: s.metrics,
    offsets: s.offsets,
    restorer: s.restorer,
    restoreSlots: s.slots,
    openStore: openRocksStore,
    now: Date.now,
    ...overrides,
  });
}

export interface Published {
  partition: number;
  offset: string;
  id: string;
}

/** Puts a generated stream on the deliveries topic, each record to its key's partition (as ingest does). */
export function publishStream(
  s: Shell,
  options: { seed?: number; runs?: number; firstRunId?: number } = {},
): Published[] {
  const out: Published[] = [];
  for (const generated of generateStream({
    seed: options.seed ?? 1,
    runs: options.runs ?? 6,
    duplicateRate: 0,
  })) {
    const { key, delivery } = toDelivery(generated);
    const partition = partitionForKey(key, s.partitions);
    const log = s.kafka.cluster.partition(s.topics.deliveries, partition);
    const offset = log.append([{ key, value: codecs.delivery.encode(delivery) }]);
    out.push({ partition, offset: offset.toString(), id: delivery.id });
  }
  s.kafka.cluster.changed.fire();
  return out;
}

/** The input records of a partition, as the task manager hands them to a task. */
export function inputRecords(s: Shell, partition: number): Array<{ offset: string; value: Buffer | null }> {
  return s.kafka.cluster
    .partition(s.topics.deliveries, partition)
    .committed()
    .map((r) => ({ offset: r.offset, value: r.value }));
}

/** The keys of the committed records of a changelog partition, in order (duplicates kept). */
export function committedKeys(s: Shell, kind: ChangelogKind, partition: number): string[] {
  return s.kafka.cluster
    .partition(changelogTopic(s.topics, kind), partition)
    .committed()
    .map((r) => r.key?.toString() ?? '');
}

/** Committed records in all four changelogs of a partition. */
export function committedChangelogRecords(s: Shell, partition: number): number {
  return (['dedupe', 'runs', 'jobs', 'aggregates'] as const).reduce(
    (n, kind) => n + committedKeys(s, kind, partition).length,
    0,
  );
}
