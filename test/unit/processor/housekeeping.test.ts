// The housekeeping sweep, entry by entry: old dedupe markers go, stale entities expire
// (counted by reason), completed ones past retention are tombstoned and leave a
// retired marker, expired ones leave none, and anything fresh is left alone.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import { sweepJob, sweepMarker, sweepRun } from '../../../processor/housekeeping.js';
import { retiredMarkerKey } from '../../../processor/markers.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { DEFAULT_CATALOGUE } from '../../../schemas/metrics.js';
import { jobState, runState } from '../../support/entities.js';

const limits = DEFAULT_LIFECYCLE_LIMITS;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const run = runState;

describe('housekeeping sweep', () => {
  it('drops dedupe markers older than the window, keeps younger ones', () => {
    const pending = new PendingChanges(DEFAULT_CATALOGUE);
    sweepMarker(pending, 'old', 0, limits.dedupeWindowMs + 1, limits);
    sweepMarker(pending, 'young', 1, limits.dedupeWindowMs + 1, limits);
    expect([...pending.markers]).toEqual([['old', null]]);
  });

  it('expires a run past its max age, once, and counts why', () => {
    const pending = new PendingChanges(DEFAULT_CATALOGUE);
    const now = limits.runMaxAgeMs + 1;
    sweepRun(pending, '10:1', run(), now, limits);
    expect(pending.runs.get('10:1')?.expiredAt).toBe(now);
    expect(pending.expired).toEqual([{ kind: 'run', reason: 'run_timeout' }]);
    const again = new PendingChanges(DEFAULT_CATALOGUE);
    sweepRun(again, '10:1', pending.runs.get('10:1')!, now + 1, limits);
    expect(again.size).toBe(0);
  });

  it('tombstones a completed run past retention and leaves a retired marker; an expired one leaves none', () => {
    const pending = new PendingChanges(DEFAULT_CATALOGUE);
    const now = 2 * DAY;
    sweepRun(pending, '10:1', run({ status: 'completed', completedSeenAt: 0 }), now, limits);
    sweepRun(pending, '11:1', run({ runId: 11, expiredAt: 0 }), now, limits);
    expect(pending.runs.get('10:1')).toBeNull();
    expect(pending.runs.get('11:1')).toBeNull();
    expect([...pending.markers.keys()]).toEqual([retiredMarkerKey('run', '10:1')]);
  });

  it('expires a queued job after its limit and a running hosted one after its own', () => {
    const pending = new PendingChanges(DEFAULT_CATALOGUE);
    sweepJob(pending, '1', jobState({ createdAt: 0 }), limits.queuedJobMaxAgeMs + 1, limits);
    sweepJob(
      pending,
      '2',
      jobState({ jobId: 2, status: 'in_progress', startedAt: 0, runnerGroup: 'GitHub Actions' }),
      limits.runningHostedJobMaxAgeMs + 1,
      limits,
    );
    expect(pending.expired).toEqual([
      { kind: 'job', reason: 'queued_timeout' },
      { kind: 'job', reason: 'running_timeout' },
    ]);
  });

  it('leaves fresh entities alone', () => {
    const pending = new PendingChanges(DEFAULT_CATALOGUE);
    sweepRun(pending, '10:1', run(), HOUR, limits);
    sweepJob(pending, '1', jobState({ createdAt: 0 }), HOUR, limits);
    sweepMarker(pending, 'd', 0, HOUR, limits);
    expect(pending.size).toBe(0);
  });
});
