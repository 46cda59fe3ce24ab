// The processor's runtime: the consumer group over deliveries, the task manager and
// its tasks, the role's admin client for offsets, housekeeping and lag timers.
import { isSessionTimeoutRefused } from '../platform/kafka-errors.js';
import type { ConsumerCrash, GroupBatch, GroupConsumer, KafkaPort } from '../platform/kafka-port.js';
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

/**
 * How long the processor waits before its n-th restart in a row of a consumer kafkajs
 * gave up: 1 s, doubling, at most 30 s (a broker outage of minutes costs a few lines).
 */
export function consumerRestartDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export class Processor {
  private consumer: GroupConsumer | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** Restarts of a consumer kafkajs gave up, since it last joined the group. */
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Set while a consumer kafkajs gave up waits for its restart to join the group. */
  private consumerDown: { since: number } | undefined;
  private closing = false;
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
      // How deliveries gather into transactions (processor/config.ts FETCH_MIN_BYTES). The
      // wait also bounds how long a fetcher whose partitions are all paused (restoring)
      // sleeps before it looks again, a partition resumed during a fetch waits for that
      // fetch to end, and a rebalance (joining it, or leaving the group on a stop) waits
      // for the fetches in flight (kafkajs' default: 5 s). An idle processor sends four
      // fetches a second per broker.
      maxWaitTimeMs: config.fetchMaxWaitMs,
      minBytes: config.fetchMinBytes,
      // Sticky and state-aware (processor/assignment.ts).
      assignor: stickyAssignor(() => ({
        owned: [...this.manager.ownedPartitions],
        warm: partitionsWithState(config.stateDir, config.groupId),
      })),
      retries: 10,
    });
    this.consumer = consumer;
    this.manager.attach(consumer);
    consumer.onAssignment((memberId, partitions) => {
      // Joined: a consumer restarted by this processor is in the group again.
      this.restarts = 0;
      this.consumerDown = undefined;
      this.manager.onAssignment(memberId, partitions);
    });
    consumer.onCrash((crash) => this.onConsumerCrash(crash));
    // Offsets are resolved by the task manager once a chunk's transaction committed.
    await consumer.run(this.handler, config.concurrency);
    this.timers.push(
      setInterval(() => this.manager.reconcile(), 1000),
      setInterval(() => void this.housekeep(), config.housekeepingIntervalMs),
      setInterval(() => void this.updateLag(), 15_000),
    );
  }

  private readonly handler = (batch: GroupBatch): Promise<void> => this.manager.handleBatch(batch);

  /**
   * kafkajs restarts a consumer that crashed on a retriable error (rejoins, from the
   * committed offsets; the tasks outlive it). One that crashed on any other error (a
   * group coordinator not found after a broker outage, a session timeout the brokers
   * refuse) it disconnects for good: the processor restarts that one itself, the same
   * way, after a backoff, until a restart joins the group again. Without it the instance
   * stayed up and "ok" and never consumed again.
   */
  private onConsumerCrash({ error, restart }: ConsumerCrash): void {
    const { config } = this;
    const restartInMs = restart || this.closing ? undefined : this.scheduleConsumerRestart();
    const doing =
      restartInMs === undefined
        ? restart
          ? 'kafkajs restarts it'
          : 'the processor is stopping'
        : `restarting the consumer in ${restartInMs} ms (attempt ${this.restarts}): it rejoins the group and resumes from the committed offsets`;
    if (isSessionTimeoutRefused(error)) {
      this.logger.error(
        { err: error, sessionTimeoutMs: config.sessionTimeoutMs, restart, restartInMs },
        `the brokers refuse ${SESSION_TIMEOUT.name}=${config.sessionTimeoutMs}ms: set it within their group.min.session.timeout.ms and group.max.session.timeout.ms; ${doing}`,
      );
      return;
    }
    // With what this instance believed (its tasks outlive the consumer's restart).
    this.logger[restart ? 'warn' : 'error'](
      { err: error, restart, restartInMs, ...this.manager.believed() },
      restart
        ? 'consumer crashed; kafkajs restarts it'
        : `consumer crashed on an error kafkajs does not restart on; ${doing}`,
    );
  }

  /** Schedules the next restart of a consumer kafkajs gave up (one at a time); returns its delay. */
  private scheduleConsumerRestart(): number {
    this.restarts += 1;
    const delay = consumerRestartDelayMs(this.restarts);
    this.consumerDown = { since: this.consumerDown?.since ?? this.now() };
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restartConsumer(), delay);
    return delay;
  }

  private async restartConsumer(): Promise<void> {
    this.restartTimer = undefined;
    if (this.closing || !this.consumer) return;
    this.logger.info({ attempt: this.restarts }, 'restarting the consumer: joining the group again');
    try {
      await this.consumer.run(this.handler, this.config.concurrency);
    } catch (error) {
      // It could not even connect (Kafka still down): no crash follows, so try again.
      if (this.closing) return;
      const restartInMs = this.scheduleConsumerRestart();
      this.logger.error(
        { err: error, restartInMs, attempt: this.restarts },
        `the consumer could not start; restarting the consumer in ${restartInMs} ms (attempt ${this.restarts})`,
      );
    }
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
    if (this.consumerDown) {
      const seconds = Math.round((this.now() - this.consumerDown.since) / 1000);
      return {
        ready: false,
        detail: `consumer crashed ${seconds}s ago; restarting it (attempt ${this.restarts})`,
      };
    }
    return this.manager.readiness();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    for (const timer of this.timers) clearInterval(timer);
    // Waits for the batch in flight; its transaction commits or aborts first.
    await this.consumer
      ?.disconnect()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer disconnect'));
    await this.manager.close();
    await this.offsets.close();
  }
}
