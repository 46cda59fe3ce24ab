// The processor's private RocksDB layout: one store per input partition, holding the
// latest value of every changelog key of that partition under a prefix per changelog
// (so a restore copies bytes without decoding them), and the checkpoints: how far the
// store reflects each changelog partition, and when that was written. Nothing outside
// processor/ reads this layout; the exporter reads the changelogs themselves.
import { CHANGELOG_KINDS, type ChangelogKind } from '../schemas/changelog.js';
import type { KeyValueStore, WriteOp } from './store.js';

const PREFIX: Record<ChangelogKind, string> = { dedupe: 'd|', runs: 'r|', jobs: 'j|', aggregates: 'a|' };
const CHECKPOINT_PREFIX = 'c|';
const WRITTEN_AT_KEY = `${CHECKPOINT_PREFIX}written-at`;

export function storeKey(kind: ChangelogKind, changelogKey: string): string {
  return PREFIX[kind] + changelogKey;
}

export function storePrefix(kind: ChangelogKind): string {
  return PREFIX[kind];
}

const PREFIX_BYTES: Record<ChangelogKind, Buffer> = {
  dedupe: Buffer.from(PREFIX.dedupe),
  runs: Buffer.from(PREFIX.runs),
  jobs: Buffer.from(PREFIX.jobs),
  aggregates: Buffer.from(PREFIX.aggregates),
};

/**
 * The writes copying changelog records into the store as they are: each key's bytes
 * behind its kind's prefix (a null key is the empty key), cut from one buffer, and the
 * value (null, a tombstone, deletes). storeKey of the key's text, without decoding it.
 */
export function copyOps(
  kind: ChangelogKind,
  records: ReadonlyArray<{ key: Buffer | null; value: Buffer | null }>,
): WriteOp[] {
  const prefix = PREFIX_BYTES[kind];
  let bytes = 0;
  for (const r of records) bytes += prefix.length + (r.key?.length ?? 0);
  const keys = Buffer.allocUnsafe(bytes);
  const ops: WriteOp[] = new Array(records.length);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const { key, value } = records[i]!;
    const start = at;
    keys.set(prefix, at);
    at += prefix.length;
    if (key) {
      keys.set(key, at);
      at += key.length;
    }
    ops[i] = { key: keys.subarray(start, at), value };
  }
  return ops;
}

/** The changelog key a store key of this kind holds. */
export function changelogKeyOf(kind: ChangelogKind, key: string): string {
  if (!key.startsWith(PREFIX[kind])) throw new Error(`store key ${key} is not a ${kind} key`);
  return key.slice(PREFIX[kind].length);
}

const checkpointKey = (kind: ChangelogKind): string => CHECKPOINT_PREFIX + kind;

/**
 * The queued-jobs index, derived from the jobs (in no changelog: kept with every write
 * of jobs, restore included, and rebuilt by a recount): one empty entry per queued job,
 * ordered by set, then created_at, so the first entry of a set is its oldest queued job.
 */
export const QUEUE_INDEX_PREFIX = 'q|';

export function queueIndexPrefix(set: string): string {
  return `${QUEUE_INDEX_PREFIX}${set}|`;
}

export function queueIndexKey(position: { set: string; createdSeconds: number; jobId: number }): string {
  return `${queueIndexPrefix(position.set)}${String(position.createdSeconds).padStart(12, '0')}|${position.jobId}`;
}

export function createdSecondsOfQueueKey(key: string): number {
  const end = key.lastIndexOf('|');
  return Number(key.slice(key.lastIndexOf('|', end - 1) + 1, end));
}

/**
 * Set when a recount counted the store's gauges and rebuilt its index. A store without
 * it (restored in full, or written by a version that kept no gauges) is recounted.
 */
const RECOUNTED_KEY = `${CHECKPOINT_PREFIX}recounted`;

export const recountedOp: WriteOp = { key: RECOUNTED_KEY, value: Buffer.from('1') };

export async function wasRecounted(store: KeyValueStore): Promise<boolean> {
  return (await store.get(RECOUNTED_KEY)) !== undefined;
}

export interface ChangelogRecord {
  kind: ChangelogKind;
  key: string;
  /** null is a tombstone. */
  value: Buffer | null;
}

/**
 * The writes mirroring committed changelog records, plus the derived entries that go
 * with them (the queued-jobs index), the checkpoints (the next offset of each changelog
 * partition the store now reflects) and when they were written.
 */
export function storeOpsFor(
  records: readonly ChangelogRecord[],
  checkpoints: ReadonlyMap<ChangelogKind, bigint>,
  writtenAt: number,
  derived: readonly WriteOp[] = [],
): WriteOp[] {
  const ops: WriteOp[] = records.map((r) => ({ key: storeKey(r.kind, r.key), value: r.value }));
  ops.push(...derived);
  for (const [kind, offset] of checkpoints) {
    ops.push({ key: checkpointKey(kind), value: Buffer.from(offset.toString()) });
  }
  ops.push({ key: WRITTEN_AT_KEY, value: Buffer.from(String(writtenAt)) });
  return ops;
}

export interface StoredCheckpoint {
  offsets: Map<ChangelogKind, bigint>;
  /** When the checkpoints were written (ms); undefined for a store that never had one. */
  writtenAt: number | undefined;
}

export async function readCheckpoint(store: KeyValueStore): Promise<StoredCheckpoint> {
  const offsets = new Map<ChangelogKind, bigint>();
  for (const kind of CHANGELOG_KINDS) {
    const raw = await store.get(checkpointKey(kind));
    if (raw) offsets.set(kind, BigInt(raw.toString()));
  }
  const raw = (await store.get(WRITTEN_AT_KEY))?.toString();
  const writtenAt = raw === undefined ? undefined : Number(raw);
  return { offsets, writtenAt: Number.isFinite(writtenAt) ? writtenAt : undefined };
}
