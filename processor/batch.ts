// Applies a chunk of deliveries to one partition's state: dedupe, parse, state
// machine, aggregates. Reads go through the pending changes first, then the store;
// nothing is written here. The caller commits the changes to Kafka, then to RocksDB.
import { codecs } from '../schemas/index.js';
import {
  aggregateChangelogKey,
  type ChangelogKind,
  decodeAggregate,
  decodeJob,
  decodeRun,
  encodeAggregate,
  encodeJob,
  encodeMarker,
  encodeRun,
  storeKey,
} from './changelog.js';
import { aggregateKey, applyDelta } from './core/aggregates.js';
import { parseDelivery } from './core/parse.js';
import { applyJob, applyRun, jobKey, runKey } from './core/state.js';
import type { AggregateDelta, AggregateValue, ExpiryReason, JobState, RunState } from './core/types.js';
import type { KeyValueStore, WriteOp } from './store.js';

export type DeliveryResult = 'applied' | 'duplicate' | 'stale' | 'invalid';

export interface InputRecord {
  offset: string;
  value: Buffer | null;
}

export interface InvalidRecord {
  offset: string;
  deliveryId: string | null;
  reason: string;
}

/** Everything one transaction will write, keyed by changelog key (null = tombstone). */
export class PendingChanges {
  readonly markers = new Map<string, number | null>();
  readonly runs = new Map<string, RunState | null>();
  readonly jobs = new Map<string, JobState | null>();
  readonly aggregates = new Map<string, AggregateValue | null>();
  readonly results: Record<DeliveryResult, number> = { applied: 0, duplicate: 0, stale: 0, invalid: 0 };
  readonly invalid: InvalidRecord[] = [];
  readonly expired: Array<{ kind: 'run' | 'job'; reason: ExpiryReason }> = [];

  get size(): number {
    return this.markers.size + this.runs.size + this.jobs.size + this.aggregates.size;
  }

  /** The changelog records, per kind, all for the input partition's number. */
  records(partition: number): Array<{ kind: ChangelogKind; key: string; value: Buffer | null }> {
    const out: Array<{ kind: ChangelogKind; key: string; value: Buffer | null }> = [];
    for (const [key, at] of this.markers)
      out.push({ kind: 'dedupe', key, value: at === null ? null : encodeMarker(at) });
    for (const [key, run] of this.runs) out.push({ kind: 'runs', key, value: run && encodeRun(run) });
    for (const [key, job] of this.jobs) out.push({ kind: 'jobs', key, value: job && encodeJob(job) });
    for (const [metricKey, value] of this.aggregates) {
      out.push({
        kind: 'aggregates',
        key: aggregateChangelogKey(partition, metricKey),
        value: value && encodeAggregate(value),
      });
    }
    return out;
  }
}

/** The state of one partition as the processor reads it: pending changes over the store. */
export class PartitionStateReader {
  constructor(
    private readonly store: KeyValueStore,
    private readonly partition: number,
  ) {}

  async hasMarker(pending: PendingChanges, deliveryId: string): Promise<boolean> {
    const staged = pending.markers.get(deliveryId);
    if (staged !== undefined) return staged !== null;
    return (await this.store.get(storeKey('dedupe', deliveryId))) !== undefined;
  }

  async run(pending: PendingChanges, key: string): Promise<RunState | undefined> {
    const staged = pending.runs.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.store.get(storeKey('runs', key));
    return bytes && decodeRun(bytes);
  }

  async job(pending: PendingChanges, key: string): Promise<JobState | undefined> {
    const staged = pending.jobs.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.store.get(storeKey('jobs', key));
    return bytes && decodeJob(bytes);
  }

  async aggregate(pending: PendingChanges, metricKey: string): Promise<AggregateValue | undefined> {
    const staged = pending.aggregates.get(metricKey);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.store.get(
      storeKey('aggregates', aggregateChangelogKey(this.partition, metricKey)),
    );
    return bytes && decodeAggregate(bytes);
  }

  async addDeltas(pending: PendingChanges, deltas: readonly AggregateDelta[]): Promise<void> {
    for (const delta of deltas) {
      const key = aggregateKey(delta.name, delta.labels);
      pending.aggregates.set(key, applyDelta(await this.aggregate(pending, key), delta));
    }
  }
}

/** Applies one input record to the pending changes and says what became of it. */
export async function applyRecord(
  reader: PartitionStateReader,
  pending: PendingChanges,
  record: InputRecord,
  now: number,
): Promise<DeliveryResult> {
  const invalid = (deliveryId: string | null, reason: string): DeliveryResult => {
    pending.invalid.push({ offset: record.offset, deliveryId, reason });
    return 'invalid';
  };
  if (!record.value) return invalid(null, 'record has no value');
  let delivery: ReturnType<typeof codecs.delivery.decode>;
  try {
    delivery = codecs.delivery.decode(record.value);
  } catch (error) {
    return invalid(null, (error as Error).message);
  }
  if (await reader.hasMarker(pending, delivery.id)) return 'duplicate';
  // Marked even when invalid below: a redelivery of a bad payload is just as bad.
  pending.markers.set(delivery.id, now);
  let payload: unknown;
  try {
    payload = JSON.parse(delivery.body.toString('utf8'));
  } catch (error) {
    return invalid(delivery.id, `body is not JSON: ${(error as Error).message}`);
  }
  const parsed = parseDelivery({
    deliveryId: delivery.id,
    event: delivery.event,
    payload,
    receivedAt: delivery.receivedAt,
  });
  if (!parsed.ok) return invalid(delivery.id, parsed.reason);

  const observation = parsed.observation;
  if (observation.kind === 'run') {
    const key = runKey(observation.runId, observation.runAttempt);
    const transition = applyRun(await reader.run(pending, key), observation, now);
    if (!transition.changed) return 'stale';
    pending.runs.set(key, transition.state);
    await reader.addDeltas(pending, transition.deltas);
    return 'applied';
  }
  const key = jobKey(observation.jobId);
  const transition = applyJob(await reader.job(pending, key), observation, now);
  if (!transition.changed) return 'stale';
  pending.jobs.set(key, transition.state);
  await reader.addDeltas(pending, transition.deltas);
  return 'applied';
}

/** The RocksDB writes mirroring a committed transaction, plus the new checkpoints. */
export function storeOpsFor(
  records: ReadonlyArray<{ kind: ChangelogKind; key: string; value: Buffer | null }>,
  checkpoints: ReadonlyMap<ChangelogKind, bigint>,
  checkpointKeyOf: (kind: ChangelogKind) => string,
): WriteOp[] {
  const ops: WriteOp[] = records.map((r) => ({ key: storeKey(r.kind, r.key), value: r.value }));
  for (const [kind, offset] of checkpoints)
    ops.push({ key: checkpointKeyOf(kind), value: Buffer.from(offset.toString()) });
  return ops;
}
