// The fake group consumer. run() joins the group, which assigns this member every
// partition of the topic (assign() gives it another set: a rebalance). Each assigned,
// unpaused partition is fetched read_committed from its position (the group's committed
// offset, or the earliest retained); resolveOffset moves the position, nothing is
// committed. A seek or a rebalance makes the batch in flight stale. A handler that
// throws crashes the consumer, which restarts (kafkajs' behaviour). crash() scripts one.
import type {
  ConsumerCrash,
  GroupBatchHandler,
  GroupConsumer,
  GroupConsumerOptions,
} from '../../../platform/kafka-port.js';
import type { FakeCluster, GroupMemberView } from './cluster.js';
import { Signal } from './signal.js';

let members = 0;

export class FakeGroupConsumer implements GroupConsumer, GroupMemberView {
  memberId: string | undefined;
  assigned: number[] = [];
  readonly topic: string;
  private readonly assignmentListeners: Array<(memberId: string, partitions: number[]) => void> = [];
  private readonly crashListeners: Array<(crash: ConsumerCrash) => void> = [];
  private readonly paused = new Set<number>();
  private readonly positions = new Map<number, bigint>();
  private readonly wake = new Signal();
  private generation = 0;
  private seeks = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Set once disconnect() has returned. */
  disconnected = false;

  constructor(
    private readonly cluster: FakeCluster,
    readonly options: GroupConsumerOptions,
  ) {
    this.topic = options.topic;
  }

  onAssignment(listener: (memberId: string, partitions: number[]) => void): void {
    this.assignmentListeners.push(listener);
  }

  onCrash(listener: (crash: ConsumerCrash) => void): void {
    this.crashListeners.push(listener);
  }

  async run(handler: GroupBatchHandler, _concurrency: number): Promise<void> {
    this.running = true;
    this.memberId = `member-${++members}`;
    this.cluster.join(this.options.groupId, this);
    this.assign(this.cluster.partitions(this.topic).map((p) => p.partition));
    this.loop = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.fetchLoop(handler));
  }

  /** A rebalance: the group gives this member these partitions (the whole set). */
  assign(partitions: readonly number[]): void {
    this.generation += 1;
    this.assigned = [...partitions];
    for (const p of [...this.positions.keys()]) {
      if (!partitions.includes(p)) {
        this.positions.delete(p);
        this.paused.delete(p);
      }
    }
    for (const listener of this.assignmentListeners) listener(this.memberId!, [...partitions]);
    this.wake.fire();
  }

  /** The consumer crashes with this error (and restarts, if `restart`). */
  crash(error: unknown, restart: boolean): void {
    for (const listener of this.crashListeners) listener({ error, restart });
    if (!restart) this.running = false;
    this.wake.fire();
  }

  resume(partition: number): void {
    this.paused.delete(partition);
    this.wake.fire();
  }

  isPaused(partition: number): boolean {
    return this.paused.has(partition);
  }

  seek(partition: number, offset: bigint): void {
    this.positions.set(partition, offset);
    this.seeks += 1;
    this.wake.fire();
  }

  position(partition: number): bigint | undefined {
    return this.positions.get(partition);
  }

  async disconnect(): Promise<void> {
    this.running = false;
    this.wake.fire();
    await this.loop;
    this.cluster.leave(this.options.groupId, this);
    this.disconnected = true;
    this.cluster.journal.push(`group consumer ${this.options.groupId} disconnected`);
  }

  private startOf(partition: number): bigint {
    const log = this.cluster.partition(this.topic, partition);
    const committed = this.cluster.committedOffset(this.options.groupId, this.topic, partition);
    return committed ?? log.low;
  }

  private async fetchLoop(handler: GroupBatchHandler): Promise<void> {
    while (this.running) {
      let progressed = false;
      for (const partition of this.assigned) {
        if (!this.running) return;
        if (this.paused.has(partition)) continue;
        const from = this.positions.get(partition) ?? this.startOf(partition);
        this.positions.set(partition, from);
        const { records, next } = this.cluster
          .partition(this.topic, partition)
          .readCommitted(from, this.cluster.fetchRecords);
        if (records.length === 0) {
          if (next !== from) this.positions.set(partition, next);
          continue;
        }
        const generation = this.generation;
        const seeks = this.seeks;
        const stale = () => generation !== this.generation || seeks !== this.seeks;
        let resolved: bigint | undefined;
        try {
          await handler({
            partition,
            records,
            resolveOffset: (offset) => {
              resolved = BigInt(offset) + 1n;
            },
            heartbeat: async () => {},
            isRunning: () => this.running,
            isStale: stale,
            pause: () => {
              this.paused.add(partition);
            },
          });
        } catch (error) {
          this.crash(error, true);
          continue;
        }
        if (!stale() && resolved !== undefined && this.positions.has(partition)) {
          this.positions.set(partition, resolved);
          progressed = true;
        } else if (stale()) {
          progressed = true;
        }
      }
      if (!progressed) await Promise.race([this.cluster.changed.wait(), this.wake.wait()]);
    }
  }
}
