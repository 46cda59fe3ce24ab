// The fake transactional producer: each call is one request to the fake coordinator,
// carrying the epoch init() obtained, so a stale producer is fenced as on a broker.
// Scripted faults (faults.ts) apply per request: 'init', 'send', 'sendOffsets',
// 'commit' and 'abort' (EndTxn), by transactional id.
import type {
  PartitionAck,
  TopicRecords,
  Transaction,
  TransactionalProducer,
  TransactionalProducerOptions,
  TransactionOffsets,
} from '../../../platform/kafka-port.js';
import type { FakeCluster } from './cluster.js';
import { FakeKafkaError, invalidTxnStateError } from './errors.js';

/** Every call answers on a later turn, as a request over the network does. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  /** The epoch init() got; undefined until then. */
  epoch: number | undefined;
  disconnected = false;
  private open: FakeTransaction | undefined;

  constructor(
    private readonly cluster: FakeCluster,
    readonly options: TransactionalProducerOptions,
  ) {
    this.transactionalId = options.transactionalId;
  }

  async init(): Promise<void> {
    await turn();
    this.usable();
    this.epoch = this.cluster.request(
      'init',
      this.transactionalId,
      () => this.cluster.coordinator.initProducerId(this.transactionalId).epoch,
    );
  }

  async begin(): Promise<Transaction> {
    this.usable();
    if (this.epoch === undefined) throw invalidTxnStateError('begin before init');
    if (this.open && !this.open.ended) throw invalidTxnStateError('a transaction is already open');
    this.open = new FakeTransaction(this.cluster, this.transactionalId, this.epoch);
    return this.open;
  }

  async disconnect(): Promise<void> {
    if (!this.disconnected)
      this.cluster.journal.push(`transactional producer ${this.transactionalId} disconnected`);
    this.disconnected = true;
  }

  private usable(): void {
    if (this.disconnected) throw new FakeKafkaError('producer is disconnected', undefined, false);
  }
}

class FakeTransaction implements Transaction {
  ended = false;

  constructor(
    private readonly cluster: FakeCluster,
    private readonly transactionalId: string,
    private readonly epoch: number,
  ) {}

  async send(sends: readonly TopicRecords[]): Promise<PartitionAck[]> {
    await turn();
    const { cluster, transactionalId, epoch } = this;
    return cluster.request('send', transactionalId, (partial) => {
      const acks: PartitionAck[] = [];
      for (const { topic, records } of sends) {
        const byPartition = new Map<number, typeof records>();
        for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
        for (const [partition, list] of byPartition) {
          const skipped =
            partial?.topic === topic && (partial.partition === undefined || partial.partition === partition);
          if (skipped) continue;
          const log = cluster.partition(topic, partition);
          const baseOffset = cluster.coordinator.produce(transactionalId, epoch, log, list);
          acks.push({ topic, partition, baseOffset });
        }
      }
      return acks;
    });
  }

  async sendOffsets(offsets: TransactionOffsets): Promise<void> {
    await turn();
    this.cluster.request('sendOffsets', this.transactionalId, () =>
      this.cluster.coordinator.addOffsets(this.transactionalId, this.epoch, offsets),
    );
  }

  async commit(): Promise<void> {
    await this.end(true);
  }

  async abort(): Promise<void> {
    await this.end(false);
  }

  private async end(commit: boolean): Promise<void> {
    await turn();
    this.ended = true;
    this.cluster.request(commit ? 'commit' : 'abort', this.transactionalId, () =>
      this.cluster.coordinator.endTxn(this.transactionalId, this.epoch, commit),
    );
  }
}
