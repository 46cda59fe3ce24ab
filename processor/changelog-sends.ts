// How one transaction's changelog records are split into produce requests. Kafka refuses
// a record batch larger than the topic's max.message.bytes (1 MiB by default), and a
// partition whose transaction is refused retries it for ever: a transaction is bounded
// by deliveries (RUNSTREAM_MAX_RECORDS_PER_TRANSACTION), not by bytes, and label values
// a payload chooses can be long. So the records go in several sends of the same
// transaction, each within a byte budget, in order; all commit or none (pure).

/** One changelog record as a send carries it (to the input partition's number). */
export interface SendRecord {
  key: string;
  value: Buffer | null;
}

/** Records for the changelog partitions of one input partition, per topic. */
export type ChangelogBatch = ReadonlyMap<string, readonly SendRecord[]>;

/**
 * Half of Kafka's default max.message.bytes (1 MiB): room for the record batch's own
 * framing and for topics whose limit was lowered a little.
 */
export const SEND_BUDGET_BYTES = 512 * 1024;

/** What a record costs in a record batch: its key, its value and a record's framing (at most 21 bytes of varints and attributes). */
export function recordBytes(record: SendRecord): number {
  return Buffer.byteLength(record.key) + (record.value?.length ?? 0) + 21;
}

/**
 * The sends of one transaction: every record once, each topic's records in their order,
 * each send at most `budget` bytes unless a single record is larger (it goes alone).
 */
export function sendsWithin(batch: ChangelogBatch, budget = SEND_BUDGET_BYTES): ChangelogBatch[] {
  const sends: Array<Map<string, SendRecord[]>> = [];
  let current = new Map<string, SendRecord[]>();
  let bytes = 0;
  for (const [topic, records] of batch) {
    for (const record of records) {
      const size = recordBytes(record);
      if (bytes > 0 && bytes + size > budget) {
        sends.push(current);
        current = new Map();
        bytes = 0;
      }
      let list = current.get(topic);
      if (!list) {
        list = [];
        current.set(topic, list);
      }
      list.push(record);
      bytes += size;
    }
  }
  if (bytes > 0) sends.push(current);
  return sends;
}
