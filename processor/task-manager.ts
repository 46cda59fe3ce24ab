// Owns the partition tasks of this instance (Kafka Streams' TaskManager): which input
// partitions the group assigned, one task per assigned partition, when a failed task
// is replaced, and which partitions the consumer may fetch. A partition whose task is
// not running is paused, so the consumer never blocks on a restore (other partitions
// of the same broker keep flowing) and never waits without noticing a rebalance; it is
// resumed, from its last processed offset, once a running task owns it.
import { isRejoinNeeded } from '../platform/kafka-errors.js';
import type { GroupBatch } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import type { Offsets } from '../platform/offsets.js';
import type { ProcessorConfig } from './config.js';
import { heartbeatIntervalMs, withHeartbeats } from './heartbeats.js';
import type { ProcessorMetrics } from './metrics.js';
import { type PartitionTask, type TaskFailure, TaskUnavailableError } from './task.js';

export interface ReplacementInput {
  failure: TaskFailure | undefined;
  /** Consecutive failed tasks of the partition. */
  failures: number;
  /** The assignment generation the failure happened in, and the current one. */
  failedInGeneration: number;
  generation: number;
  now: number;
  sessionTimeoutMs: number;
  /** For a fenced task: whether the group still assigns the partition to this member (undefined: not known). */
  stillOurs: boolean | undefined;
}

export type ReplacementDecision = { open: true } | { open: false; until: number; why: string };

/**
 * When a new task may take over a partition whose task failed. Fenced means another
 * producer took the partition's transactional id: most likely the group moved the
 * partition and this instance has not heard yet, so reopening would fence the new
 * owner in turn. It reopens once a new assignment arrives, or at once if the group
 * says the partition is still ours (the fencer was a zombie), or after two session
 * timeouts at the latest. Other failures reopen after a backoff that grows with
 * consecutive failures (250 ms, doubling, at most 10 s).
 */
export function replacementDecision(input: ReplacementInput): ReplacementDecision {
  const { failure } = input;
  if (!failure) return { open: true };
  if (failure.reason === 'fenced') {
    if (input.generation !== input.failedInGeneration || input.stillOurs === true) return { open: true };
    const until = failure.at + 2 * input.sessionTimeoutMs;
    if (input.now >= until) return { open: true };
    return {
      open: false,
      until,
      why:
        input.stillOurs === false
          ? 'fenced; the group has moved the partition, waiting for the rebalance'
          : 'fenced; asking the group who owns the partition',
    };
  }
  const until = failure.at + Math.min(10_000, 250 * 2 ** Math.max(0, input.failures - 1));
  return input.now >= until
    ? { open: true }
    : { open: false, until, why: `${failure.reason} failure; backing off` };
}

/** The consumer operations the manager needs, per input partition. */
export interface ConsumerControl {
  resume(partition: number): void;
  isPaused(partition: number): boolean;
  seek(partition: number, offset: bigint): void;
}

interface FailureRecord {
  failure: TaskFailure;
  failures: number;
  generation: number;
  stillOurs: boolean | undefined;
}

export interface TaskManagerDeps {
  config: Pick<ProcessorConfig, 'groupId' | 'sessionTimeoutMs' | 'maxRecordsPerTransaction'>;
  deliveriesTopic: string;
  createTask(partition: number, distrust: string | undefined): PartitionTask;
  offsets: Pick<Offsets, 'assignedTo'>;
  logger: Logger;
  metrics: ProcessorMetrics;
  now: () => number;
}

/** A partition's task in a log line: `running@<next offset>`, `failed(<reason>)`, its state, or `none`. */
function taskLabel(task: PartitionTask | undefined, failed: FailureRecord | undefined): string {
  if (!task) return failed ? `none, ${failed.failures} failed (${failed.failure.reason})` : 'none';
  if (task.state === 'running') return `running@${task.nextOffset}`;
  if (task.state === 'failed') return `failed(${task.failure?.reason ?? 'unknown'})`;
  return task.state;
}

export class TaskManager {
  private readonly tasks = new Map<number, PartitionTask>();
  private readonly failures = new Map<number, FailureRecord>();
  private assigned: number[] = [];
  private generation = 0;
  private memberId: string | undefined;
  private consumer: ConsumerControl | undefined;
  private closed = false;
  /**
   * A heartbeat of this generation the group answered with "rejoin" (a member left or
   * joined): every batch in hand stops before its next transaction and rethrows it, so
   * the consumer rejoins as soon as the transactions in flight commit, instead of after
   * every fetched batch was processed for an assignment that is ending.
   */
  private rejoin: { generation: number; error: unknown } | undefined;

  constructor(private readonly deps: TaskManagerDeps) {}

  get joined(): boolean {
    return this.memberId !== undefined;
  }

  attach(consumer: ConsumerControl): void {
    this.consumer = consumer;
  }

  /** A new assignment (eager rebalancing): close what was revoked, open what is new. */
  onAssignment(memberId: string, partitions: readonly number[]): void {
    this.memberId = memberId;
    this.generation += 1;
    this.rejoin = undefined;
    this.assigned = [...partitions].sort((a, b) => a - b);
    for (const [partition, task] of this.tasks) {
      if (this.assigned.includes(partition)) continue;
      this.tasks.delete(partition);
      this.deps.metrics.lag.remove({ partition: String(partition) });
      void task.close().then(() => this.deps.logger.info({ partition }, 'partition revoked and closed'));
    }
    for (const partition of this.failures.keys()) {
      if (!this.assigned.includes(partition)) this.failures.delete(partition);
    }
    // What it had for them when the group gave them: after a consumer restart (same
    // partitions, a new member id) the tasks run on, at the offsets they committed.
    this.deps.logger.info(
      { partitions: this.assigned, ...this.believed(), paused: this.paused() },
      'partitions assigned',
    );
    this.reconcile();
  }

  /**
   * What this instance believes now, for the lines an operator reads after a fault: its
   * group membership, and per assigned partition its task (`running@305`: running, next
   * offset to process 305; `restoring`; `failed(transaction)`), or `none`, with the
   * partition's consecutive failures when it waits to be reopened.
   */
  believed(): { memberId: string | undefined; generation: number; tasks: Record<string, string> } {
    const tasks: Record<string, string> = {};
    for (const partition of new Set([...this.assigned, ...this.tasks.keys()])) {
      tasks[partition] = taskLabel(this.tasks.get(partition), this.failures.get(partition));
    }
    return { memberId: this.memberId, generation: this.generation, tasks };
  }

  /** Assigned partitions the consumer does not fetch now (kafkajs forgets them when it restarts). */
  private paused(): number[] {
    return this.assigned.filter((p) => this.consumer?.isPaused(p));
  }

  /** Brings every assigned partition toward a running task; run on events and every second. */
  reconcile(): void {
    if (this.closed) return;
    const now = this.deps.now();
    for (const partition of this.assigned) {
      const task = this.tasks.get(partition);
      if (task && task.state !== 'failed' && task.state !== 'closed') {
        if (task.state === 'running' && this.consumer?.isPaused(partition)) {
          this.consumer.resume(partition);
          this.deps.logger.debug({ partition }, 'partition resumed');
        }
        continue;
      }
      if (task) this.recordFailure(partition, task);
      const record = this.failures.get(partition);
      const decision = replacementDecision({
        failure: record?.failure,
        failures: record?.failures ?? 0,
        failedInGeneration: record?.generation ?? this.generation,
        generation: this.generation,
        now,
        sessionTimeoutMs: this.deps.config.sessionTimeoutMs,
        stillOurs: record?.stillOurs,
      });
      if (!decision.open) continue;
      this.open(
        partition,
        record?.failure.distrustCheckpoint
          ? `the last task failed on this store (${record.failure.reason})`
          : undefined,
      );
    }
    this.updateGauges();
  }

  private open(partition: number, distrust: string | undefined): void {
    const task = this.deps.createTask(partition, distrust);
    this.tasks.set(partition, task);
    task.ready.then(
      () => this.reconcile(),
      () => this.reconcile(),
    );
  }

  /** Remembers a failed task once, and for a fenced one asks the group who owns the partition. */
  private recordFailure(partition: number, task: PartitionTask): void {
    this.tasks.delete(partition);
    const failure = task.failure;
    if (!failure) return; // closed, not failed
    const previous = this.failures.get(partition);
    const record: FailureRecord = {
      failure,
      failures: (previous?.failures ?? 0) + 1,
      generation: this.generation,
      stillOurs: undefined,
    };
    this.failures.set(partition, record);
    if (failure.reason === 'fenced' && this.memberId) {
      const { groupId } = this.deps.config;
      void this.deps.offsets.assignedTo(groupId, this.memberId, this.deps.deliveriesTopic).then(
        (partitions) => {
          record.stillOurs = partitions.includes(partition);
          this.reconcile();
        },
        (error: unknown) => this.deps.logger.debug({ err: error, partition }, 'group membership unknown'),
      );
    }
  }

  /** One fetched batch of an assigned partition: processed in transactions of bounded size. */
  async handleBatch(batch: GroupBatch): Promise<void> {
    const { partition, records, resolveOffset, isRunning, isStale, pause } = batch;
    const heartbeat = this.heartbeatNoting(batch.heartbeat);
    this.throwIfRejoining();
    const task = this.tasks.get(partition);
    if (task?.state !== 'running' || !this.assigned.includes(partition)) {
      // Not ready yet (restoring, or failed and waiting): stop fetching it until it is.
      pause();
      this.deps.logger.debug(
        { partition, state: task?.state ?? 'none' },
        'partition paused until its task runs',
      );
      return;
    }
    const size = this.deps.config.maxRecordsPerTransaction;
    for (let i = 0; i < records.length; i += size) {
      if (!isRunning() || isStale()) return;
      this.throwIfRejoining();
      const chunk = records.slice(i, i + size);
      let result: Awaited<ReturnType<PartitionTask['process']>>;
      try {
        // Heartbeats go on while the transaction is in flight (processor/heartbeats.ts).
        result = await withHeartbeats(
          task.process(chunk.map((m) => ({ offset: m.offset, value: m.value }))),
          heartbeat,
          heartbeatIntervalMs(this.deps.config.sessionTimeoutMs),
        );
      } catch (error) {
        if (!(error instanceof TaskUnavailableError)) throw error;
        pause();
        this.reconcile();
        return;
      }
      if (result.kind === 'gap') {
        this.deps.metrics.inconsistencies.inc({ kind: 'input_gap' });
        this.deps.logger.error(
          { partition, expected: result.expected.toString(), got: result.got.toString() },
          'the consumer skipped input records; seeking back to the next offset to process',
        );
        this.consumer?.seek(partition, result.expected);
        return;
      }
      this.failures.delete(partition);
      this.deps.logger.debug(
        {
          partition,
          records: chunk.length,
          nextOffset: result.nextOffset.toString(),
          ...result.timings,
        },
        'chunk committed',
      );
      resolveOffset(chunk[chunk.length - 1]!.offset);
      await heartbeat();
    }
  }

  /** The batch's heartbeat, remembering an answer of this generation that says "rejoin". */
  private heartbeatNoting(heartbeat: () => Promise<void>): () => Promise<void> {
    const generation = this.generation;
    return () =>
      heartbeat().catch((error: unknown) => {
        if (isRejoinNeeded(error) && generation === this.generation && !this.rejoin) {
          this.rejoin = { generation, error };
          this.deps.logger.debug(
            { generation },
            'the group asks to rejoin; finishing the transactions in flight',
          );
        }
        throw error;
      });
  }

  private throwIfRejoining(): void {
    if (this.rejoin?.generation === this.generation) throw this.rejoin.error;
  }

  /** Housekeeping of every running task, one after the other. */
  async housekeep(): Promise<number> {
    let changed = 0;
    for (const partition of this.assigned) {
      const task = this.tasks.get(partition);
      if (task?.state !== 'running') continue;
      try {
        changed += await task.housekeep();
      } catch (error) {
        if (!(error instanceof TaskUnavailableError)) throw error;
      }
    }
    this.reconcile();
    return changed;
  }

  readiness(): { ready: boolean; detail: string } {
    if (!this.joined) return { ready: false, detail: 'joining the consumer group' };
    const waiting = this.assigned.filter((p) => this.tasks.get(p)?.state !== 'running');
    if (waiting.length > 0) return { ready: false, detail: `restoring partitions ${waiting.join(',')}` };
    return { ready: true, detail: `owns partitions [${this.assigned.join(',')}]` };
  }

  get ownedPartitions(): readonly number[] {
    return this.assigned;
  }

  private updateGauges(): void {
    this.deps.metrics.ownedPartitions.set(this.assigned.length);
    this.deps.metrics.readyPartitions.set(
      this.assigned.filter((p) => this.tasks.get(p)?.state === 'running').length,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.tasks.values()].map((task) => task.close()));
    this.tasks.clear();
  }
}
