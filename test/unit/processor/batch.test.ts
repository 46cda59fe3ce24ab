// The processor's chunk step against real RocksDB: however the input is cut into
// transactions, the committed state equals the pure core applied in order, and every
// record gets the result it deserves (duplicate, invalid, applied or stale).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import {
  applyChunk,
  type DeliveryResult,
  type InputRecord,
  PendingChanges,
  retiredMarkerKey,
} from '../../../processor/batch.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import { RocksStore } from '../../../processor/store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../../../processor/store-layout.js';
import { decodeAggregate, decodeJob, decodeRun } from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { DEFAULT_CATALOGUE, MetricCatalogue } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState, RunState } from '../../../schemas/model.js';
import { servedGauges } from '../../support/gauges.js';
import { toDelivery } from '../../support/publish.js';
import { comparable, expectedState, type FoldedState } from '../../support/state.js';
import { useTempDir } from '../../support/temp-dir.js';

const PARTITION = 3;
const NOW = 1;
const LIMITS = DEFAULT_LIFECYCLE_LIMITS;

/** A GUID numbered n, for deliveries the tests make up. */
const guid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const stream = generateStream({ seed: 11, runs: 12, duplicateRate: 0.25, disorderRate: 0.5 });

function recordOf(offset: number, value: Buffer | null): InputRecord {
  return { offset: String(offset), value };
}

function encoded(
  d: (typeof stream)[number],
  options: { id?: string; receivedAt?: number; source?: 'webhook' | 'replay' } = {},
): Buffer {
  const { delivery } = toDelivery(d, options.receivedAt ?? NOW);
  return codecs.delivery.encode({ ...delivery, id: options.id ?? d.id, source: options.source ?? 'webhook' });
}

/** Deliveries about the given jobs, under new ids, as a backfill would bring them. */
function backfillOf(
  jobIds: ReadonlySet<string>,
  firstOffset: number,
  at: number,
  actions?: (a: string) => boolean,
) {
  return stream
    .filter((d) => d.event === 'workflow_job' && (actions?.(d.action) ?? true))
    .filter((d) => jobIds.has(String((d.payload.workflow_job as { id: number }).id)))
    .map((d, i) =>
      recordOf(firstOffset + i, encoded(d, { id: guid(firstOffset + i), receivedAt: at, source: 'replay' })),
    );
}

/** The stream as input records, with a garbage record and a delivery whose body is not JSON. */
function inputRecords(): InputRecord[] {
  const records = stream.map((d, i) => recordOf(i, encoded(d)));
  const badJson = codecs.delivery.encode({
    id: guid(999_999),
    event: 'workflow_job',
    action: 'queued',
    hookId: '1',
    installationTargetType: null,
    installationTargetId: null,
    receivedAt: NOW,
    source: 'webhook',
    runId: 1,
    body: Buffer.from('{"truncated":'),
    observation: null,
  });
  // A Delivery (schema id 1) cut short: undecodable, hence invalid.
  records.splice(5, 0, recordOf(-1, Buffer.from([0, 0, 0, 0, 1, 2])));
  records.splice(9, 0, recordOf(-1, badJson));
  return records.map((r, i) => ({ ...r, offset: String(i) }));
}

async function committedState(store: RocksStore): Promise<FoldedState> {
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  const aggregates = new Map<string, AggregateValue>();
  for await (const [key, bytes] of store.scan(storePrefix('runs')))
    runs.set(changelogKeyOf('runs', key), decodeRun(bytes));
  for await (const [key, bytes] of store.scan(storePrefix('jobs')))
    jobs.set(changelogKeyOf('jobs', key), decodeJob(bytes));
  const gauges: AggregateValue[] = [];
  for await (const [, bytes] of store.scan(storePrefix('aggregates'))) {
    const value = decodeAggregate(bytes);
    if (value.kind === 'gauge') gauges.push(value);
    else aggregates.set(DEFAULT_CATALOGUE.seriesKey(value.name, value.labels), value);
  }
  return { runs, jobs, aggregates, gauges: servedGauges(gauges) };
}

describe('applyChunk over real RocksDB', () => {
  const dir = useTempDir('runstream-chunk-');

  it('gives the in-order core state and the right result per record, however the input is chunked', async () => {
    const records = inputRecords();
    const expected = comparable(expectedState(stream, NOW));
    const distinct = new Set(stream.map((d) => d.id)).size;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        async (sizes) => {
          const store = await RocksStore.open(dir(`run-${run++}`));
          try {
            const results: DeliveryResult[] = [];
            for (let at = 0, i = 0; at < records.length; i++) {
              const chunk = records.slice(at, at + sizes[i % sizes.length]!);
              at += chunk.length;
              const pending = new PendingChanges(DEFAULT_CATALOGUE);
              results.push(...(await applyChunk(store, PARTITION, pending, chunk, NOW, LIMITS)));
              await store.write(
                storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()),
              );
            }
            expect(comparable(await committedState(store))).toEqual(expected);
            const count = (r: DeliveryResult) => results.filter((x) => x === r).length;
            expect(results).toHaveLength(records.length);
            expect(count('invalid')).toBe(2);
            expect(count('duplicate')).toBe(stream.length - distinct);
            expect(count('applied') + count('stale')).toBe(distinct);
            expect(results[5]).toBe('invalid');
            expect(results[9]).toBe('invalid');
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('treats a late event about a retired entity as stale: nothing re-created, nothing counted twice', async () => {
    const store = await RocksStore.open(dir('retired'));
    try {
      const commit = async (pending: PendingChanges) =>
        store.write(storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()));
      const first = new PendingChanges(DEFAULT_CATALOGUE);
      await applyChunk(store, PARTITION, first, inputRecords(), NOW, LIMITS);
      await commit(first);
      const before = await committedState(store);

      // Housekeeping retires every completed entity once its retention is over.
      const housekeeping = new PendingChanges(DEFAULT_CATALOGUE);
      const retired = new Set<string>();
      for (const [key, run] of before.runs)
        if (run.status === 'completed') housekeeping.retire('run', key, run, NOW + 1);
      const expired = new Set<string>();
      for (const [key, job] of before.jobs) {
        housekeeping.retire('job', key, job, NOW + 1);
        (job.status === 'completed' ? retired : expired).add(key);
      }
      await commit(housekeeping);
      expect(retired.size).toBeGreaterThan(0);
      expect(expired.size).toBeGreaterThan(0);
      // An entity that never completed (expired) leaves no marker: its late events count.
      for (const key of expired) expect(housekeeping.markers.has(retiredMarkerKey('job', key))).toBe(false);

      // A backfill brings the earlier events of those entities under new delivery ids.
      const late = backfillOf(retired, 10_000, NOW + 2, (action) => action !== 'completed');
      expect(late.length).toBeGreaterThan(0);
      const backfill = new PendingChanges(DEFAULT_CATALOGUE);
      const results = await applyChunk(store, PARTITION, backfill, late, NOW + 2, LIMITS);
      await commit(backfill);
      expect(new Set(results)).toEqual(new Set(['stale']));
      const after = await committedState(store);
      expect([...after.jobs.keys()].filter((key) => retired.has(key))).toEqual([]);
      expect(comparable(after).aggregates).toEqual(comparable(before).aggregates);

      const lateForExpired = backfillOf(expired, 20_000, NOW + 3);
      const again = await applyChunk(
        store,
        PARTITION,
        new PendingChanges(DEFAULT_CATALOGUE),
        lateForExpired,
        NOW + 3,
        LIMITS,
      );
      expect(again).toContain('applied');
    } finally {
      await store.close();
    }
  });

  it('ignores a repository the catalogue leaves out before any state: no marker, run, job or series', async () => {
    const store = await RocksStore.open(dir('filtered'));
    try {
      const catalogue = new MetricCatalogue({ repositories: { exclude: ['octo-org/*'] } });
      const repositoryOf = (d: (typeof stream)[number]) =>
        (d.payload.repository as { full_name: string }).full_name;
      const left = stream.filter((d) => repositoryOf(d).startsWith('octo-org/'));
      expect(left.length).toBeGreaterThan(0);
      const pending = new PendingChanges(catalogue);
      const results = await applyChunk(
        store,
        PARTITION,
        pending,
        stream.map((d, i) => recordOf(i, encoded(d))),
        NOW,
        LIMITS,
      );
      expect(results.filter((r) => r === 'ignored')).toHaveLength(left.length);
      for (const d of left) expect(pending.markers.has(d.id)).toBe(false);
      await store.write(storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()));
      const kept = stream.filter((d) => !left.includes(d));
      expect(comparable(await committedState(store))).toEqual(comparable(expectedState(kept, NOW)));
    } finally {
      await store.close();
    }
  });
});

describe('applyChunk and a record of a newer writer', () => {
  const dir = useTempDir('runstream-chunk-newer-');

  it('refuses the chunk instead of skipping the record, and changes nothing', async () => {
    const store = await RocksStore.open(dir('newer'));
    try {
      const newer = Buffer.from(encoded(stream[1]!));
      newer.writeUInt32BE(0x7fff_ffff, 1); // a schema id from a later version
      const pending = new PendingChanges(DEFAULT_CATALOGUE);
      await expect(
        applyChunk(
          store,
          PARTITION,
          pending,
          [recordOf(0, encoded(stream[0]!)), recordOf(1, newer)],
          NOW,
          LIMITS,
        ),
      ).rejects.toThrow(/unknown schema id 2147483647, written by a newer runstream/);
      expect(pending.markers.size).toBe(0);
      expect(pending.invalid).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
