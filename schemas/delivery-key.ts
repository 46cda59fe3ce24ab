// How a Delivery is keyed and partitioned on `<prefix>deliveries`: by its workflow run
// id, so every event of a run and of its jobs lands in one partition, with one owner.
// The partition is kafkajs' default (Java-compatible murmur2 of the key), the rule
// every producer of the topic has used; every changelog record derived from partition
// p goes to changelog partition p.
import kafkajs, { type PartitionMetadata } from 'kafkajs';

const partitioner = kafkajs.Partitioners.DefaultPartitioner();
const layouts = new Map<number, PartitionMetadata[]>();

/** The record key of a run's deliveries: its run id in decimal. */
export function deliveryKey(runId: number): string {
  return String(runId);
}

export function partitionForKey(key: string, partitions: number): number {
  let layout = layouts.get(partitions);
  if (!layout) {
    layout = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [],
      isr: [],
    }));
    layouts.set(partitions, layout);
  }
  // With a key, the partitioner hashes it over all partitions (leaders do not matter).
  return partitioner({ topic: '', partitionMetadata: layout, message: { key, value: null } });
}
