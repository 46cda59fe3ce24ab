// The processor's runtime: the consumer group over deliveries, the task manager and
// its tasks, the role's admin client for offsets, housekeeping and lag timers.
import { isSessionTimeoutRefused } from '../platform/kafka-errors.js';
import type { GroupConsumer, KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { Offsets } from '../platform/offsets.js';
import { type TopicNames, topicNames } from '../platform/topics.js';
import { stickyAssignor } from './assignment.js';
import { type ProcessorConfig, SESSION_TIMEOUT } from './config.js';
import { heartbeatIntervalMs } from './heartbeats.js';
import type { ProcessorMetrics } from './metrics.js';
import { RestoreSlots } from './restore-slots.js';
import { ChangelogRestorer } from './restorer.js';
import { partitionsWithState } from './state-dirs.js';
import { RocksStore } from './store.js';
import { PartitionTask } from './task.js';
import { TaskManager } from './task-manager.js';

export class Processor {
  private consumer: GroupConsumer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly offsets: Offsets;
  private readonly manager: TaskManager;
  readonly topics: TopicNames;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly kafka: KafkaPort,
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
    const restoreSlots = new RestoreSlots(config.restoreConcurrency);
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
          restoreSlots,
          openStore: (location) =>
            RocksStore.open(location, {
              cacheBytes: config.storeCacheBytes,
              writeBufferBytes: config.storeWriteBufferBytes,
            }),
          now,
          ...(distrust ? { distrust } : {}),
        }),
    });
  }

  async start(): Promise<void> {
    const { config, topics } = this;
    const topic = topics.deliveries;
    const consumer = this.kafka.groupConsumer({
      groupId: config.groupId,
      topic,
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: 60_000,
      // Frequent heartbeats (kafkajs sends them from its fetch loop, which turns at least
      // every maxWaitTimeMs, and the task manager while a transaction is in flight): a
      // member learns of a rebalance (a peer stopped or joined) within about a tenth of
      // a second, so the group settles quickly.
      heartbeatIntervalMs: heartbeatIntervalMs(config.sessionTimeoutMs),
      // Room for a whole transaction of typical deliveries (8 KB) in one batch.
      maxBytesPerPartition: 4 * 1_048_576,
      // A fetcher whose partitions are all paused (restoring) sleeps this long before it
      // looks again, a partition resumed during a fetch waits for that fetch to end, and
      // a rebalance (joining it, or leaving the group on a stop) waits for the fetches in
      // flight: this bounds each of them (default 5 s). An idle processor sends ten
      // fetches a second per broker.
      maxWaitTimeMs: 100,
      // Sticky and state-aware (processor/assignment.ts).
      assignor: stickyAssignor(() => ({
        owned: [...this.manager.ownedPartitions],
        warm: partitionsWithState(config.stateDir, config.groupId),
      })),
      retries: 10,
    });
    this.consumer = consumer;
    this.manager.attach(consumer);
    consumer.onAssignment((memberId, partitions) => this.manager.onAssignment(memberId, partitions));
    consumer.onCrash(({ error, restart }) => {
      if (isSessionTimeoutRefused(error)) {
        this.logger.error(
          { err: error, sessionTimeoutMs: config.sessionTimeoutMs },
          `the brokers refuse ${SESSION_TIMEOUT.name}=${config.sessionTimeoutMs}ms: set it within their group.min.session.timeout.ms and group.max.session.timeout.ms`,
        );
        return;
      }
      // A restart rejoins the group and resumes from the committed offsets: worth seeing, not
      // acting on. With what this instance believed (its tasks outlive the consumer's restart).
      this.logger[restart ? 'warn' : 'error'](
        { err: error, restart, ...this.manager.believed() },
        restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed and will not restart',
      );
    });
    // Offsets are resolved by the task manager once a chunk's transaction committed.
    await consumer.run((batch) => this.manager.handleBatch(batch), config.concurrency);
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
