// The checkpoint verdict: when a store's checkpoint may serve a tail restore, and
// where each changelog is read from.
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_MAX_AGE_MS,
  type ChangelogEnds,
  checkpointVerdict,
} from '../../../processor/checkpoint.js';
import type { ChangelogKind } from '../../../schemas/changelog.js';

const NOW = Date.UTC(2026, 11, 1);
const kinds: ChangelogKind[] = ['dedupe', 'runs', 'jobs', 'aggregates'];

function ends(high: bigint, low = 0n): Map<ChangelogKind, ChangelogEnds> {
  return new Map(kinds.map((kind) => [kind, { low, high }]));
}

function checkpoint(at: bigint, writtenAt: number | undefined = NOW - 1000) {
  return { offsets: new Map(kinds.map((kind) => [kind, at])), writtenAt };
}

describe('checkpointVerdict', () => {
  it('trusts a recent, complete checkpoint within the changelog and reads from it', () => {
    const verdict = checkpointVerdict({ checkpoint: checkpoint(40n), ends: ends(100n), now: NOW });
    expect(verdict.mode).toBe('checkpoint');
    expect(verdict.inconsistency).toBeUndefined();
    expect([...verdict.from.values()]).toEqual([40n, 40n, 40n, 40n]);
  });

  it('reads from the first retained offset when retention passed the checkpoint', () => {
    const verdict = checkpointVerdict({ checkpoint: checkpoint(40n), ends: ends(100n, 60n), now: NOW });
    expect(verdict.mode).toBe('checkpoint');
    expect(verdict.from.get('runs')).toBe(60n);
  });

  it('restores in full from the start of each changelog when there is no checkpoint', () => {
    const verdict = checkpointVerdict({
      checkpoint: { offsets: new Map(), writtenAt: undefined },
      ends: ends(100n, 7n),
      now: NOW,
    });
    expect(verdict).toMatchObject({ mode: 'full', reason: 'no local checkpoint' });
    expect([...verdict.from.values()]).toEqual([7n, 7n, 7n, 7n]);
  });

  it('restores in full when told not to trust the store, or the checkpoint lacks a changelog', () => {
    expect(
      checkpointVerdict({
        checkpoint: checkpoint(40n),
        ends: ends(100n),
        now: NOW,
        distrust: 'store failed',
      }),
    ).toMatchObject({ mode: 'full', reason: 'store failed' });
    const partial = checkpoint(40n);
    partial.offsets.delete('jobs');
    expect(checkpointVerdict({ checkpoint: partial, ends: ends(100n), now: NOW }).mode).toBe('full');
  });

  it('restores in full when the checkpoint is older than tombstones are kept, or undated', () => {
    const old = checkpoint(40n, NOW - CHECKPOINT_MAX_AGE_MS - 1);
    expect(checkpointVerdict({ checkpoint: old, ends: ends(100n), now: NOW }).mode).toBe('full');
    const fresh = checkpoint(40n, NOW - CHECKPOINT_MAX_AGE_MS);
    expect(checkpointVerdict({ checkpoint: fresh, ends: ends(100n), now: NOW }).mode).toBe('checkpoint');
    const undated = { ...checkpoint(40n), writtenAt: undefined };
    expect(checkpointVerdict({ checkpoint: undated, ends: ends(100n), now: NOW }).mode).toBe('full');
  });

  it('flags a checkpoint past the changelog end as an inconsistency and restores in full', () => {
    const e = ends(100n);
    e.set('aggregates', { low: 0n, high: 30n });
    const verdict = checkpointVerdict({ checkpoint: checkpoint(40n), ends: e, now: NOW });
    expect(verdict).toMatchObject({ mode: 'full', inconsistency: 'checkpoint_ahead' });
    expect(verdict.reason).toContain('aggregates');
    // At the end exactly is fine: everything is read.
    expect(checkpointVerdict({ checkpoint: checkpoint(100n), ends: ends(100n), now: NOW }).mode).toBe(
      'checkpoint',
    );
  });
});
