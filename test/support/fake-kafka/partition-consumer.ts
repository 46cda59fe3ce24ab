// The fake partition consumer (static assignment, no group, nothing committed): reads
// each partition read_committed from its earliest retained offset or its seek, in
// batches of the cluster's fetch size, and reports every position it reaches (also past
// batches of markers only). Waits on the cluster's signal, never on a timer. A partition
// under a 'stall' fault delivers nothing until the fault is cleared.
import type {
  PartitionBatch,
  PartitionConsumer,
  PartitionConsumerOptions,
} from '../../../platform/kafka-port.js';
import type { FakeCluster } from './cluster.js';
import { Signal } from './signal.js';

interface Position {
  topic: string;
  partition: number;
  at: bigint;
  /** Bumped by each seek, so a batch in flight does not move the position back. */
  seeks: number;
}

export class FakePartitionConsumer implements PartitionConsumer {
  private readonly positions = new Map<string, Position>();
  private readonly listeners: Array<(topic: string, partition: number, next: bigint) => void> = [];
  private readonly wake = new Signal();
  private running = false;
  private loop: Promise<void> | undefined;
  /** Errors the handler threw (the consumer keeps the partition where it was). */
  readonly handlerErrors: unknown[] = [];

  constructor(
    private readonly cluster: FakeCluster,
    readonly options: PartitionConsumerOptions,
  ) {
    for (const [topic, partitions] of options.partitions) {
      for (const partition of partitions) {
        this.positions.set(`${topic}/${partition}`, { topic, partition, at: -1n, seeks: 0 });
      }
    }
  }

  onPosition(listener: (topic: string, partition: number, nextOffset: bigint) => void): void {
    this.listeners.push(listener);
  }

  async run(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    this.running = true;
    // Starts on a later turn: seeks made right after run() resolves come first, as with kafkajs.
    this.loop = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.fetchLoop(handler));
  }

  seek(topic: string, partition: number, offset: bigint): void {
    const position = this.positions.get(`${topic}/${partition}`);
    if (!position) throw new Error(`seek of ${topic}/${partition}, which this consumer does not read`);
    position.at = offset;
    position.seeks += 1;
    this.wake.fire();
  }

  async disconnect(): Promise<void> {
    this.running = false;
    this.wake.fire();
    await this.loop;
    this.cluster.journal.push(`partition consumer ${this.options.name} disconnected`);
  }

  private async fetchLoop(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    while (this.running) {
      let progressed = false;
      for (const position of this.positions.values()) {
        if (!this.running) return;
        const { topic, partition } = position;
        if (this.cluster.faults.stalled(topic, partition)) continue;
        const log = this.cluster.partition(topic, partition);
        if (position.at < 0n) position.at = log.low;
        const from = position.at;
        const seeks = position.seeks;
        const { records, next } = log.readCommitted(from, this.cluster.fetchRecords);
        if (next === from) continue;
        if (records.length > 0) {
          try {
            await handler({ topic, partition, records, nextOffset: next, heartbeat: async () => {} });
          } catch (error) {
            this.handlerErrors.push(error);
            continue;
          }
        }
        if (position.seeks !== seeks) continue;
        position.at = next;
        progressed = true;
        for (const listener of this.listeners) listener(topic, partition, next);
      }
      if (!progressed) await Promise.race([this.cluster.changed.wait(), this.wake.wait()]);
    }
  }
}
