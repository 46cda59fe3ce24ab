// The caps through applyChunk and housekeeping over real RocksDB, job by job: a job whose
// label set overflowed stays in `(other)` through every transition, its gauges go back
// to 0 when it completes, and the room its neighbours' deleted series leave is never
// given again (the admitted sets only grow), so no decrement misses its increment.
import { describe, expect, it } from 'vitest';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import { scanForHousekeeping } from '../../../processor/housekeeping.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { RocksStore } from '../../../processor/store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../../../processor/store-layout.js';
import {
  admissionCountKey,
  decodeAdmission,
  decodeAggregate,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { MetricCatalogue, OVERFLOW_VALUE } from '../../../schemas/metrics.js';
import type { AggregateValue } from '../../../schemas/model.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';
import { example } from '../../support/webhooks.js';

const PARTITION = 0;
const T0 = Date.UTC(2026, 5, 1);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const OTHER = OVERFLOW_VALUE;
// B stays queued across the retention window: it must not expire meanwhile.
const LIMITS = { ...DEFAULT_LIFECYCLE_LIMITS, queuedJobMaxAgeMs: 10 * 86_400_000 };

interface JobEvent {
  id: number;
  labels: string[];
  status: 'queued' | 'in_progress' | 'completed';
  createdS: number;
  group?: string;
}

let sequence = 0;
function delivery(e: JobEvent) {
  const payload = example('workflow_job', 'queued');
  const job = payload.workflow_job as Record<string, unknown>;
  Object.assign(job, {
    id: e.id,
    run_id: 500 + e.id,
    run_attempt: 1,
    status: e.status,
    workflow_name: 'CI',
    labels: e.labels,
    created_at: iso(T0 + e.createdS * 1000),
    started_at: iso(T0 + (e.status === 'queued' ? e.createdS : e.createdS + 10) * 1000),
    completed_at: e.status === 'completed' ? iso(T0 + (e.createdS + 20) * 1000) : null,
    conclusion: e.status === 'completed' ? 'success' : null,
    runner_name: e.group ? 'runner-1' : null,
    runner_group_name: e.group ?? null,
  });
  sequence += 1;
  const id = `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
  return toDelivery({ id, event: 'workflow_job', action: e.status, payload }, T0).delivery;
}

describe('a label set over the cap', () => {
  const dir = useTempDir('runstream-caps-unit-');
  const catalogue = new MetricCatalogue({ maxLabelSets: { job: 2 } });

  async function apply(store: RocksStore, events: JobEvent[], now: number, offset: number) {
    const pending = new PendingChanges(catalogue);
    const records = events.map((e, i) => ({
      offset: String(offset + i),
      value: codecs.delivery.encode(delivery(e)),
    }));
    await applyChunk(store, PARTITION, pending, records, now, LIMITS);
    await store.write(storeOpsFor(pending.records(PARTITION), new Map(), now, pending.storeOnlyOps()));
    return pending;
  }

  async function series(store: RocksStore): Promise<{ values: AggregateValue[]; admitted: number }> {
    const values: AggregateValue[] = [];
    let admitted = 0;
    for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
      const { seriesKey } = parseAggregateChangelogKey(changelogKeyOf('aggregates', key));
      if (seriesKey === admissionCountKey('job')) admitted = decodeAdmission(bytes);
      if (!isReservedKey(seriesKey)) values.push(decodeAggregate(bytes));
    }
    return { values, admitted };
  }

  type Gauge = Extract<AggregateValue, { kind: 'gauge' }>;
  const find = (values: AggregateValue[], name: string, labels: Record<string, string>) =>
    values.find(
      (v) => v.name === name && Object.entries(labels).every(([k, value]) => v.labels[k] === value),
    );
  const gauge = (values: AggregateValue[], name: string, labels: Record<string, string>) =>
    find(values, name, labels) as Gauge | undefined;

  it('stays in (other) through its transitions and returns its gauges to 0, after room seemed to free', async () => {
    const store = await RocksStore.open(dir('jobs'));
    try {
      // Two sets fill the cap of 2 (A queued with no runner group yet, and A started); B overflows.
      await apply(store, [{ id: 1, labels: ['a'], status: 'queued', createdS: 0 }], T0, 0);
      await apply(
        store,
        [
          { id: 1, labels: ['a'], status: 'in_progress', createdS: 0, group: 'g' },
          { id: 2, labels: ['b'], status: 'queued', createdS: 5 },
        ],
        T0,
        1,
      );
      let { values, admitted } = await series(store);
      expect(admitted).toBe(2);
      expect(gauge(values, 'github_actions_jobs', { labels: OTHER, status: 'queued' })?.members).toBe(1);
      expect(
        gauge(values, 'github_actions_job_oldest_queued_timestamp_seconds', { labels: OTHER })?.value,
      ).toBe(T0 / 1000 + 5);
      expect(values.some((v) => v.labels.labels === 'b')).toBe(false);

      // A completes, and long after, housekeeping retires it and drops its emptied series.
      await apply(store, [{ id: 1, labels: ['a'], status: 'completed', createdS: 0, group: 'g' }], T0, 3);
      const later = T0 + LIMITS.completedRetentionMs + 60_000;
      const swept = await scanForHousekeeping(store, PARTITION, later, LIMITS, 1000, catalogue);
      await store.write(storeOpsFor(swept.records(PARTITION), new Map(), later, swept.storeOnlyOps()));
      ({ values } = await series(store));
      expect(values.some((v) => v.kind === 'gauge' && v.labels.labels === 'a')).toBe(false);

      // B starts (a new label set: its runner group filled in) and completes; C arrives.
      const pending = await apply(
        store,
        [
          { id: 2, labels: ['b'], status: 'in_progress', createdS: 5, group: 'g' },
          { id: 3, labels: ['c'], status: 'queued', createdS: 9 },
          { id: 2, labels: ['b'], status: 'completed', createdS: 5, group: 'g' },
        ],
        later,
        4,
      );
      ({ values, admitted } = await series(store));
      expect(admitted).toBe(2); // nothing admitted after the cap filled, whatever was dropped
      expect(values.some((v) => v.labels.labels === 'b' || v.labels.labels === 'c')).toBe(false);
      const jobs = values.filter((v) => v.name === 'github_actions_jobs' && v.labels.labels === OTHER);
      expect(jobs.map((v) => [v.labels.status, v.kind === 'gauge' && v.members])).toEqual(
        expect.arrayContaining([
          ['queued', 1], // C
          ['in_progress', 0], // B came and went
        ]),
      );
      expect(jobs.every((v) => v.kind === 'gauge' && v.members >= 0)).toBe(true);
      expect(
        gauge(values, 'github_actions_job_oldest_queued_timestamp_seconds', { labels: OTHER })?.value,
      ).toBe(T0 / 1000 + 9);
      const completed = find(values, 'github_actions_jobs_completed_total', { labels: OTHER });
      expect(completed?.kind === 'counter' ? completed.value : undefined).toBe(1);
      expect(pending.capped).toEqual(expect.arrayContaining([{ kind: 'job', reason: 'overflow' }]));

      // C completes too: every (other) gauge is back to 0.
      await apply(store, [{ id: 3, labels: ['c'], status: 'completed', createdS: 9 }], later, 7);
      ({ values } = await series(store));
      const others = values.filter((v) => v.kind === 'gauge' && v.labels.labels === OTHER);
      expect(others.length).toBeGreaterThan(0);
      expect(others.map((v) => (v.kind === 'gauge' ? [v.members, v.value] : []))).toEqual(
        others.map(() => [0, 0]),
      );
    } finally {
      await store.close();
    }
  });
});
