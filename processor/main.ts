// Wires `runstream processor`: the consumer group over deliveries, the task manager
// and its tasks, housekeeping and lag timers, and the HTTP endpoints.
import kafkajs, { type Consumer } from 'kafkajs';
import { createHttpApp, registerOpsRoutes } from '../platform/http.js';
import { createKafka, type Kafka, KafkaReachability } from '../platform/kafka.js';
import { kafkaPreflight } from '../platform/kafka-preflight.js';
import { kafkaEndpoint } from '../platform/kafka-security.js';
import type { Logger } from '../platform/log.js';
import { createRoleRegistry } from '../platform/metrics.js';
import { Offsets } from '../platform/offsets.js';
import type { RoleHandle } from '../platform/role.js';
import { type TopicNames, topicNames } from '../platform/topics.js';
import type { ProcessorConfig } from './config.js';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.js';
import { ChangelogRestorer } from './restorer.js';
import { PartitionTask } from './task.js';
import { TaskManager } from './task-manager.js';

export { type ProcessorConfig, readProcessorConfig } from './config.js';

const { PartitionAssigners } = kafkajs;

export class Processor {
  private consumer: Consumer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly offsets: Offsets;
  private readonly manager: TaskManager;
  readonly topics: TopicNames;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly kafka: Kafka,
    private readonly logger: Logger,
    readonly metrics: ProcessorMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.topics = topicNames(config.topicPrefix);
    this.offsets = new Offsets(kafka, config.offsetsTimeoutMs);
    const restorer = new ChangelogRestorer(
      kafka,
      this.topics,
      logger,
      `${config.groupId}-restore-`,
      config.restoreStallTimeoutMs,
    );
    this.manager = new TaskManager({
      config,
      deliveriesTopic: this.topics.deliveries,
      offsets: this.offsets,
      logger,
      metrics,
      now,
      createTask: (partition, distrust) =>
        new PartitionTask({
          kafka,
          topics: this.topics,
          partition,
          config,
          logger: logger.child({ partition }),
          metrics,
          offsets: this.offsets,
          restorer,
          now,
          ...(distrust ? { distrust } : {}),
        }),
    });
  }

  async start(): Promise<void> {
    const { config, topics } = this;
    const consumer = this.kafka.consumer({
      groupId: config.groupId,
      readUncommitted: false,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 1_048_576,
      // A fetcher whose partitions are all paused (restoring) sleeps this long before it
      // looks again, so it bounds how soon a resumed partition is fetched (default 5 s).
      maxWaitTimeInMs: 500,
      partitionAssigners: [PartitionAssigners.roundRobin],
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    const topic = topics.deliveries;
    this.manager.attach({
      resume: (partition) => consumer.resume([{ topic, partitions: [partition] }]),
      isPaused: (partition) =>
        consumer.paused().some((p) => p.topic === topic && p.partitions.includes(partition)),
      seek: (partition, offset) => consumer.seek({ topic, partition, offset: offset.toString() }),
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.manager.onAssignment(payload.memberId, payload.memberAssignment[topic] ?? []);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error(
        { err: payload.error, restart: payload.restart },
        payload.restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed and will not restart',
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // Offsets are resolved by the task manager once a chunk's transaction committed.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.concurrency,
      eachBatch: (payload) => this.manager.handleBatch(payload),
    });
    this.timers.push(
      setInterval(() => this.manager.reconcile(), 1000),
      setInterval(() => void this.housekeep(), config.housekeepingIntervalMs),
      setInterval(() => void this.updateLag(), 15_000),
    );
  }

  housekeep(): Promise<number> {
    return this.manager.housekeep().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'housekeeping failed; retried next interval');
      return 0;
    });
  }

  /** Lag from committed offsets, so idle partitions report it too. */
  private async updateLag(): Promise<void> {
    const owned = this.manager.ownedPartitions;
    if (owned.length === 0) return;
    try {
      const [ends, committed] = await Promise.all([
        this.offsets.ends(this.topics.deliveries),
        this.offsets.committed(this.config.groupId, this.topics.deliveries),
      ]);
      for (const partition of owned) {
        const end = ends.get(partition);
        if (!end) continue;
        const at = committed.get(partition) ?? end.low;
        const lag = end.high - at;
        this.metrics.lag.set({ partition: String(partition) }, Number(lag > 0n ? lag : 0n));
      }
    } catch (error) {
      this.logger.debug({ err: error }, 'lag update failed');
    }
  }

  readiness(): { ready: boolean; detail: string } {
    return this.manager.readiness();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    // Waits for the batch in flight; its transaction commits or aborts first.
    await this.consumer
      ?.disconnect()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer disconnect'));
    await this.manager.close();
    await this.offsets.close();
  }
}

export async function startProcessor(
  config: ProcessorConfig,
  logger: Logger,
): Promise<RoleHandle & { processor: Processor }> {
  await kafkaPreflight(config, { role: 'processor', groupId: config.groupId }, logger);
  const kafka = createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-processor', logger });
  const registry = createRoleRegistry('processor');
  const processor = new Processor(config, kafka, logger, createProcessorMetrics(registry));
  const reachability = new KafkaReachability(kafka);
  const app = createHttpApp(logger);
  registerOpsRoutes(app, {
    registry,
    readiness: async () => {
      const kafkaState = await reachability.check();
      if (!kafkaState.ok) return { ready: false, detail: kafkaState.detail };
      return processor.readiness();
    },
  });
  await processor.start();
  await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as { port: number }).port;
  logger.info({ port, groupId: config.groupId, stateDir: config.stateDir }, 'processor started');
  return {
    role: 'processor',
    port,
    processor,
    async close() {
      await app.close();
      await processor.close();
      await reachability.close().catch(() => undefined);
      logger.info('processor stopped');
    },
  };
}
