// Wires `runstream processor`: the consumer group over deliveries, one PartitionTask
// per owned partition, housekeeping, lag, and the HTTP endpoints.
import { resolve } from 'node:path';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import {
  type CommonConfig,
  type Env,
  readCommonConfig,
  readDurationMs,
  readInt,
  readPort,
  readString,
} from '../platform/config.js';
import { createHttpApp, type Readiness, registerOpsRoutes } from '../platform/http.js';
import { createKafka, type Kafka, KafkaReachability } from '../platform/kafka.js';
import type { Logger } from '../platform/log.js';
import { createRoleRegistry } from '../platform/metrics.js';
import type { RoleHandle } from '../platform/role.js';
import { type TopicNames, topicNames } from '../platform/topics.js';
import { DEFAULT_LIFECYCLE_LIMITS, type LifecycleLimits } from './core/types.js';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.js';
import { PartitionTask, type RestoreStats } from './partition-task.js';

export interface ProcessorConfig extends CommonConfig {
  port: number;
  host: string;
  stateDir: string;
  groupId: string;
  limits: LifecycleLimits;
  housekeepingIntervalMs: number;
  concurrency: number;
  maxRecordsPerTransaction: number;
  sessionTimeoutMs: number;
}

export function readProcessorConfig(env: Env): ProcessorConfig {
  const common = readCommonConfig(env);
  const d = DEFAULT_LIFECYCLE_LIMITS;
  return {
    ...common,
    port: readPort(env, 'RUNSTREAM_PROCESSOR_PORT', 9400),
    host: readString(env, 'RUNSTREAM_HOST', '0.0.0.0'),
    stateDir: resolve(readString(env, 'RUNSTREAM_STATE_DIR', './data')),
    groupId: readString(env, 'RUNSTREAM_PROCESSOR_GROUP', `${common.topicPrefix}processor`),
    limits: {
      queuedJobMaxAgeMs: readDurationMs(env, 'RUNSTREAM_QUEUED_JOB_MAX_AGE', d.queuedJobMaxAgeMs),
      runningHostedJobMaxAgeMs: readDurationMs(
        env,
        'RUNSTREAM_RUNNING_JOB_MAX_AGE_HOSTED',
        d.runningHostedJobMaxAgeMs,
      ),
      runningSelfHostedJobMaxAgeMs: readDurationMs(
        env,
        'RUNSTREAM_RUNNING_JOB_MAX_AGE_SELF_HOSTED',
        d.runningSelfHostedJobMaxAgeMs,
      ),
      runMaxAgeMs: readDurationMs(env, 'RUNSTREAM_RUN_MAX_AGE', d.runMaxAgeMs),
      completedRetentionMs: readDurationMs(env, 'RUNSTREAM_COMPLETED_RETENTION', d.completedRetentionMs),
      dedupeWindowMs: common.dedupeWindowMs,
    },
    housekeepingIntervalMs: readDurationMs(env, 'RUNSTREAM_HOUSEKEEPING_INTERVAL', 60_000),
    concurrency: readInt(env, 'RUNSTREAM_PROCESSOR_CONCURRENCY', 2, 1, 64),
    maxRecordsPerTransaction: readInt(env, 'RUNSTREAM_MAX_RECORDS_PER_TRANSACTION', 500, 1, 10_000),
    // How long a dead instance keeps its partitions before the group moves them.
    sessionTimeoutMs: readDurationMs(env, 'RUNSTREAM_PROCESSOR_SESSION_TIMEOUT', 30_000),
  };
}

async function whileHeartbeating<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  let done = false;
  const beat = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 2000));
      if (!done) await heartbeat().catch(() => undefined);
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    void beat;
  }
}

export class Processor {
  private readonly tasks = new Map<number, PartitionTask>();
  /** Assignments seen so far, and the one each task was opened under. */
  private generation = 0;
  private readonly generationOf = new WeakMap<PartitionTask, number>();
  private assigned: number[] = [];
  private joined = false;
  private consumer: Consumer | undefined;
  private timers: NodeJS.Timeout[] = [];
  readonly topics: TopicNames;
  /** Restores completed, newest last (tests and benchmarks read how much was read). */
  readonly restores: Array<{ partition: number } & RestoreStats> = [];

  constructor(
    private readonly config: ProcessorConfig,
    private readonly kafka: Kafka,
    private readonly logger: Logger,
    private readonly metrics: ProcessorMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.topics = topicNames(config.topicPrefix);
  }

  private taskFor(partition: number): PartitionTask {
    const existing = this.tasks.get(partition);
    if (existing && !existing.isClosed) return existing;
    const failure = existing?.failure;
    // Fenced means another instance opened this partition after us: most likely the
    // group moved it and we have not heard yet. Reopening would fence that owner in
    // turn; wait for our next assignment instead, or a while, in case it was only the
    // broker expiring a slow transaction.
    if (
      existing &&
      failure?.fenced &&
      this.generationOf.get(existing) === this.generation &&
      Date.now() - failure.at < 2 * this.config.sessionTimeoutMs
    ) {
      throw new Error(
        `partition ${partition}: a newer producer fenced this one; waiting for the group to reassign it`,
      );
    }
    const task = new PartitionTask({
      kafka: this.kafka,
      topics: this.topics,
      partition,
      groupId: this.config.groupId,
      stateDir: this.config.stateDir,
      logger: this.logger.child({ partition }),
      metrics: this.metrics,
      limits: this.config.limits,
      maxRecordsPerTransaction: this.config.maxRecordsPerTransaction,
      maxHousekeepingChanges: 5000,
      transactionTimeoutMs: 60_000,
      restoreTimeoutMs: 10 * 60_000,
      distrustCheckpoint: failure?.store ?? false,
      now: this.now,
    });
    this.tasks.set(partition, task);
    this.generationOf.set(task, this.generation);
    task.ready.then(
      (stats) => {
        this.restores.push({ partition, ...stats });
        this.updateGauges();
      },
      (error: unknown) => {
        this.logger.error({ partition, err: error }, 'partition restore failed; retried on the next batch');
        if (this.tasks.get(partition) === task) this.tasks.delete(partition);
        void task.close();
      },
    );
    return task;
  }

  private updateGauges(): void {
    this.metrics.ownedPartitions.set(this.assigned.length);
    this.metrics.readyPartitions.set(this.assigned.filter((p) => this.tasks.get(p)?.isReady).length);
  }

  /** Eager rebalancing: close what was revoked, start restoring what was assigned. */
  private onAssignment(partitions: number[]): void {
    this.joined = true;
    this.generation += 1;
    this.assigned = [...partitions].sort((a, b) => a - b);
    for (const [partition, task] of this.tasks) {
      if (!partitions.includes(partition)) {
        this.tasks.delete(partition);
        this.metrics.lag.remove({ partition: String(partition) });
        void task.close().then(() => this.logger.info({ partition }, 'partition revoked and closed'));
      }
    }
    for (const partition of partitions) this.taskFor(partition);
    this.updateGauges();
    this.logger.info({ partitions: this.assigned }, 'partitions assigned');
  }

  private async eachBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (isStale()) return; // from before a rebalance: the partition may be someone else's
    const task = this.taskFor(batch.partition);
    await whileHeartbeating(task.ready, heartbeat);
    if (!isRunning() || isStale()) return;
    await task.process(batch.messages.map((m) => ({ offset: m.offset, value: m.value })));
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.config.groupId,
      readUncommitted: false,
      sessionTimeout: this.config.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3000, Math.floor(this.config.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 1_048_576,
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.onAssignment(payload.memberAssignment[this.topics.deliveries] ?? []);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      this.joined = false;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topics.deliveries, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.config.concurrency,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.timers.push(
      setInterval(() => void this.housekeep(), this.config.housekeepingIntervalMs),
      setInterval(() => void this.updateLag(), 15_000),
    );
  }

  async housekeep(): Promise<number> {
    let changed = 0;
    for (const partition of this.assigned) {
      // A rebalance during the loop may have taken it; never reopen what is not ours.
      if (!this.assigned.includes(partition)) continue;
      try {
        // Also replaces a task that failed on a partition no batch arrives on.
        changed += await this.taskFor(partition).housekeep();
      } catch (error) {
        this.logger.warn({ partition, err: error }, 'housekeeping failed; retried next interval');
      }
    }
    this.updateGauges();
    return changed;
  }

  /** Lag from committed offsets, so idle partitions report it too. */
  private async updateLag(): Promise<void> {
    if (this.assigned.length === 0) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(this.topics.deliveries),
        admin.fetchOffsets({ groupId: this.config.groupId, topics: [this.topics.deliveries] }),
      ]);
      const committedBy = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      for (const end of ends) {
        if (!this.assigned.includes(end.partition)) continue;
        const at = committedBy.get(end.partition) ?? -1n;
        const lag = at < 0n ? BigInt(end.high) - BigInt(end.low) : BigInt(end.high) - at;
        this.metrics.lag.set({ partition: String(end.partition) }, Number(lag > 0n ? lag : 0n));
      }
    } catch (error) {
      this.logger.debug({ err: error }, 'lag update failed');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  readiness(): Readiness {
    if (!this.joined) return { ready: false, detail: 'joining the consumer group' };
    const waiting = this.assigned.filter((p) => !this.tasks.get(p)?.isReady);
    if (waiting.length > 0) return { ready: false, detail: `restoring partitions ${waiting.join(',')}` };
    return { ready: true, detail: `owns partitions [${this.assigned.join(',')}]` };
  }

  /** The input partitions this instance owns now. */
  get ownedPartitions(): readonly number[] {
    return this.assigned;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    // Waits for the batch in flight; its transaction commits or aborts first.
    await this.consumer
      ?.disconnect()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer disconnect'));
    await Promise.all([...this.tasks.values()].map((task) => task.close()));
    this.tasks.clear();
  }
}

export async function startProcessor(
  config: ProcessorConfig,
  logger: Logger,
): Promise<RoleHandle & { processor: Processor }> {
  const kafka = createKafka({ brokers: config.brokers, clientId: 'runstream-processor', logger });
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
