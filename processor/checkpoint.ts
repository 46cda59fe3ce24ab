// Whether a store's checkpoint can be trusted for a tail restore, as a pure verdict
// over what the store says and what the changelogs say.
import { CHANGELOG_KINDS, type ChangelogKind } from '../schemas/changelog.js';
import type { StoredCheckpoint } from './store-layout.js';

/**
 * Compaction drops a tombstone once it is older than the changelog's
 * delete.retention.ms (1 d, set by `topics create`; also the broker default). A store
 * whose checkpoints were written longer ago may hold keys deleted since, whose
 * tombstones the tail no longer has: restore it in full instead. 20 h leaves a margin.
 */
export const CHECKPOINT_MAX_AGE_MS = 20 * 3_600_000;

export interface ChangelogEnds {
  /** First retained offset. */
  low: bigint;
  /** End offset (next offset to be written). */
  high: bigint;
}

export type RestoreMode = 'checkpoint' | 'full';

export interface CheckpointVerdict {
  mode: RestoreMode;
  /** Why, for the log line. */
  reason: string;
  /** Set when the store contradicts Kafka (a checkpoint past the changelog's end). */
  inconsistency?: 'checkpoint_ahead';
  /** Where to start reading each changelog partition. */
  from: Map<ChangelogKind, bigint>;
}

export interface VerdictInput {
  checkpoint: StoredCheckpoint;
  ends: ReadonlyMap<ChangelogKind, ChangelogEnds>;
  now: number;
  /** Why the store must not be trusted (its last task failed on it), if so. */
  distrust?: string;
  maxAgeMs?: number;
}

export function checkpointVerdict(input: VerdictInput): CheckpointVerdict {
  const { checkpoint, ends, now } = input;
  const full = (reason: string, inconsistency?: 'checkpoint_ahead'): CheckpointVerdict => ({
    mode: 'full',
    reason,
    ...(inconsistency ? { inconsistency } : {}),
    from: new Map(CHANGELOG_KINDS.map((kind) => [kind, endsOf(ends, kind).low])),
  });
  if (checkpoint.offsets.size === 0) return full('no local checkpoint');
  if (input.distrust) return full(input.distrust);
  if (CHANGELOG_KINDS.some((kind) => !checkpoint.offsets.has(kind))) return full('checkpoint incomplete');
  if (
    checkpoint.writtenAt === undefined ||
    now - checkpoint.writtenAt > (input.maxAgeMs ?? CHECKPOINT_MAX_AGE_MS)
  ) {
    return full('checkpoint too old to trust (changelog tombstones may be gone)');
  }
  const ahead = CHANGELOG_KINDS.filter((kind) => checkpoint.offsets.get(kind)! > endsOf(ends, kind).high);
  if (ahead.length > 0) {
    return full(
      `checkpoint ahead of the changelog end for ${ahead.join(', ')} (topics recreated, or data lost by the cluster)`,
      'checkpoint_ahead',
    );
  }
  return {
    mode: 'checkpoint',
    reason: 'checkpoint trusted',
    from: new Map(
      CHANGELOG_KINDS.map((kind) => {
        const at = checkpoint.offsets.get(kind)!;
        const { low } = endsOf(ends, kind);
        return [kind, at > low ? at : low];
      }),
    ),
  };
}

function endsOf(ends: ReadonlyMap<ChangelogKind, ChangelogEnds>, kind: ChangelogKind): ChangelogEnds {
  const found = ends.get(kind);
  if (!found) throw new Error(`no end offsets for the ${kind} changelog`);
  return found;
}
