// The processor's chunk step against real RocksDB: however the input is cut into
// transactions, the committed state equals the pure core applied in order, and every
// record gets the result it deserves (duplicate, invalid, applied or stale).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import type { InputRecord } from '../../../processor/delivery-record.js';
import { scanForHousekeeping } from '../../../processor/housekeeping.js';
import { retiredMarkerKey } from '../../../processor/markers.js';
import { type DeliveryResult, PendingChanges } from '../../../processor/pending-changes.js';
import { RocksStore } from '../../../processor/store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../../../processor/store-layout.js';
import {
  decodeAggregate,
  decodeJob,
  decodeRun,
  encodeMarker,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { buildDelivery } from '../../../schemas/delivery.js';
import { DEFAULT_CATALOGUE, MetricCatalogue } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState, RunState } from '../../../schemas/model.js';
import { sampleKey } from '../../support/exposition.js';
import { servedGauges } from '../../support/gauges.js';
import { expectedLastReceived } from '../../support/oracle.js';
import { toDelivery } from '../../support/publish.js';
import { comparable, expectedState, type FoldedState } from '../../support/state.js';
import { useTempDir } from '../../support/temp-dir.js';
import { example } from '../../support/webhooks.js';

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
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
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

describe('applyChunk and the last-received time', () => {
  const dir = useTempDir('runstream-chunk-received-');
  const repositoryOf = (d: (typeof stream)[number]) =>
    (d.payload.repository as { full_name: string }).full_name;
  /** Receive times in no order (a redelivery is often received long after the first copy). */
  const receivedAt = (i: number) => 1_780_000_000_000 + ((i * 7919) % 100_003) * 13;

  async function lastReceived(store: RocksStore): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
      if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
      const value = decodeAggregate(bytes);
      if (value.name === 'runstream_delivery_last_received_timestamp_seconds') {
        out.set(sampleKey(value.name, value.labels), value.value);
      }
    }
    return out;
  }

  it('is the latest receive time per repository, duplicates and stale deliveries included, however chunked and repeated', async () => {
    const records = stream.map((d, i) => recordOf(i, encoded(d, { receivedAt: receivedAt(i) })));
    // The oracle: the greatest receive time of each repository's records.
    const want = expectedLastReceived(
      stream.map((d, i) => ({ repository: repositoryOf(d), receivedAtMs: receivedAt(i) })),
    );
    expect(want.size).toBeGreaterThan(2);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (sizes, twice) => {
          const store = await RocksStore.open(dir(`run-${run++}`));
          try {
            // `twice`: the whole input again, as a reprocessing would bring it.
            const input = twice ? [...records, ...records] : records;
            for (let at = 0, i = 0; at < input.length; i++) {
              const chunk = input.slice(at, at + sizes[i % sizes.length]!);
              at += chunk.length;
              const pending = new PendingChanges(DEFAULT_CATALOGUE);
              await applyChunk(store, PARTITION, pending, chunk, NOW, LIMITS);
              await store.write(
                storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()),
              );
            }
            expect(await lastReceived(store)).toEqual(want);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('shows a repository under the caps: (other) for the deliveries of runs and jobs that overflowed', async () => {
    const store = await RocksStore.open(dir('capped'));
    try {
      const catalogue = new MetricCatalogue({ maxLabelSets: { run: 1, job: 1 } });
      const pending = new PendingChanges(catalogue);
      const records = stream.map((d, i) => recordOf(i, encoded(d, { receivedAt: receivedAt(i) })));
      await applyChunk(store, PARTITION, pending, records, NOW, LIMITS);
      await store.write(storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()));
      const got = await lastReceived(store);
      const other = got.get(
        sampleKey('runstream_delivery_last_received_timestamp_seconds', { repository: '(other)' }),
      );
      expect(other).toBeGreaterThan(0);
      // At most the repositories of the one admitted run set and the one admitted job set, and (other).
      expect(got.size).toBeLessThanOrEqual(3);
      // Nothing lost: the latest of all is still there.
      const latest = Math.max(...stream.map((_, i) => receivedAt(i))) / 1000;
      expect(Math.max(...got.values())).toBe(latest);
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

// ---------------------------------------------------------------------------------------
// Delivery ids, retired markers and events older than the dedupe window: one job's real
// payloads (queued, in_progress, completed), timed around its completion, sent and resent
// under any id at any age, with housekeeping running between, over real RocksDB.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const JOB_ID = 4_200_000_001;
const RUN_ID = 4_100_000_001;
/** When the job completed (GitHub's completed_at). */
const TC = Date.UTC(2026, 10, 10, 12, 0, 0);
const ACTIONS = ['queued', 'in_progress', 'completed'] as const;
type Action = (typeof ACTIONS)[number];
/** Each event's own time: created, started, completed. */
const EVENT_AT: Record<Action, number> = {
  queued: TC - 10 * 60_000,
  in_progress: TC - 5 * 60_000,
  completed: TC,
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function jobPayload(action: Action, jobId = JOB_ID): Record<string, unknown> {
  const payload = example('workflow_job', action);
  const job = payload.workflow_job as Record<string, unknown>;
  Object.assign(job, {
    id: jobId,
    run_id: RUN_ID,
    created_at: iso(EVENT_AT.queued),
    started_at: iso(action === 'queued' ? EVENT_AT.queued : EVENT_AT.in_progress),
    completed_at: action === 'completed' ? iso(EVENT_AT.completed) : null,
  });
  return payload;
}

function jobRecord(
  offset: number,
  action: Action,
  id: string,
  receivedAt: number,
  jobId = JOB_ID,
): InputRecord {
  const payload = jobPayload(action, jobId);
  const built = buildDelivery({
    id,
    event: 'workflow_job',
    body: Buffer.from(JSON.stringify(payload)),
    payload,
    receivedAt,
    source: 'webhook',
  });
  if ('error' in built) throw new Error(built.error);
  return recordOf(offset, codecs.delivery.encode(built.delivery));
}

/** A run event with the given id, as a producer that checks nothing could have written it. */
function rawRunRecord(offset: number, id: string, runId: number, receivedAt: number): InputRecord {
  const payload = example('workflow_run', 'completed');
  const run = payload.workflow_run as Record<string, unknown>;
  Object.assign(run, { id: runId, run_attempt: 1, updated_at: iso(receivedAt - 1000) });
  const built = buildDelivery({
    id: guid(0),
    event: 'workflow_run',
    body: Buffer.from(JSON.stringify(payload)),
    payload,
    receivedAt,
    source: 'webhook',
  });
  if ('error' in built) throw new Error(built.error);
  return recordOf(offset, codecs.delivery.encode({ ...built.delivery, id }));
}

/** Sums of the job families' counters and histogram counts in the store (the oracle's view). */
async function jobTotals(store: RocksStore): Promise<{ completed: number; queued: number; ran: number }> {
  const totals = { completed: 0, queued: 0, ran: 0 };
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
    const value = decodeAggregate(bytes);
    if (value.name === 'github_actions_jobs_completed_total' && value.kind === 'counter')
      totals.completed += value.value;
    if (value.name === 'github_actions_job_queue_duration_seconds' && value.kind === 'histogram')
      totals.queued += value.count;
    if (value.name === 'github_actions_job_duration_seconds' && value.kind === 'histogram')
      totals.ran += value.count;
  }
  return totals;
}

async function applyAndCommit(
  store: RocksStore,
  records: InputRecord[],
  now: number,
): Promise<DeliveryResult[]> {
  const pending = new PendingChanges(DEFAULT_CATALOGUE);
  const results = await applyChunk(store, PARTITION, pending, records, now, LIMITS);
  await store.write(storeOpsFor(pending.records(PARTITION), new Map(), now, pending.storeOnlyOps()));
  return results;
}

async function housekeepAndCommit(store: RocksStore, now: number): Promise<void> {
  const pending = await scanForHousekeeping(store, PARTITION, now, LIMITS, 1_000_000, DEFAULT_CATALOGUE);
  await store.write(storeOpsFor(pending.records(PARTITION), new Map(), now, pending.storeOnlyOps()));
}

async function dedupeKeys(store: RocksStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const [key] of store.scan(storePrefix('dedupe'))) keys.push(changelogKeyOf('dedupe', key));
  return keys;
}

describe('delivery ids and retired markers', () => {
  const dir = useTempDir('runstream-ids-');

  it('treats a record whose id is not a GUID as invalid: no marker, and the run it names is untouched', async () => {
    const store = await RocksStore.open(dir('forged'));
    try {
      const at = TC + HOUR;
      // An older ingest accepted any id: a signed body resent as run 77's retired marker.
      const forged = await applyAndCommit(
        store,
        [rawRunRecord(0, 'retired:run:77:1', 5, at), rawRunRecord(1, 'guid-1', 6, at)],
        at,
      );
      expect(forged).toEqual(['invalid', 'invalid']);
      expect(await dedupeKeys(store)).toEqual([]);
      // Run 77 is still news.
      expect(await applyAndCommit(store, [rawRunRecord(2, guid(77), 77, at)], at)).toEqual(['applied']);
    } finally {
      await store.close();
    }
  });

  it('dedupes an id written in upper case by an older ingest under its lower-case spelling', async () => {
    const store = await RocksStore.open(dir('case'));
    try {
      const id = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
      const at = TC + HOUR;
      const upper = rawRunRecord(0, id.toUpperCase(), 8, at);
      const lower = rawRunRecord(1, id, 8, at);
      expect(await applyAndCommit(store, [upper, lower], at)).toEqual(['applied', 'duplicate']);
      expect(await dedupeKeys(store)).toEqual([id]);
    } finally {
      await store.close();
    }
  });

  it('honours retired markers written by the previous version: late events of those entities stay stale', async () => {
    const store = await RocksStore.open(dir('upgrade'));
    try {
      const retiredAt = TC + DAY;
      // The store as the previous version left it, byte for byte: its dedupe entries
      // (`d|` + changelog key) for a retired job and run attempt, and a delivery marker
      // under an id it did not check.
      await store.write([
        { key: `d|retired:job:${JOB_ID}`, value: encodeMarker(retiredAt) },
        { key: `d|retired:run:${RUN_ID}:1`, value: encodeMarker(retiredAt) },
        { key: 'd|guid-1', value: encodeMarker(retiredAt) },
      ]);
      const at = retiredAt + HOUR;
      const late = [
        ...ACTIONS.map((action, i) => jobRecord(i, action, guid(100 + i), at)),
        rawRunRecord(3, guid(103), RUN_ID, at),
        // A job the previous version never retired is news.
        jobRecord(4, 'completed', guid(104), at, JOB_ID + 1),
      ];
      expect(await applyAndCommit(store, late, at)).toEqual(['stale', 'stale', 'stale', 'stale', 'applied']);
      expect(await jobTotals(store)).toEqual({ completed: 1, queued: 1, ran: 1 });
      // The old markers expire like any other after the window.
      await housekeepAndCommit(store, retiredAt + LIMITS.dedupeWindowMs + 1);
      const legacy = [`retired:job:${JOB_ID}`, `retired:run:${RUN_ID}:1`, 'guid-1'];
      expect((await dedupeKeys(store)).filter((k) => legacy.includes(k))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('events older than the dedupe window', () => {
  const dir = useTempDir('runstream-age-');
  let n = 0;

  it('never counts a completed job twice, whatever is resent, under whatever id, at whatever age', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          // GitHub delivers each event within a minute.
          delay: fc.integer({ min: 0, max: 60_000 }),
          resends: fc.array(
            fc.record({
              action: fc.constantFrom(...ACTIONS),
              sameId: fc.boolean(),
              // Received this long after the job completed.
              age: fc.oneof(
                fc.integer({ min: 0, max: 30 * DAY }),
                fc.constantFrom(LIMITS.dedupeWindowMs, LIMITS.dedupeWindowMs + 1, 5 * DAY, 5 * DAY + HOUR),
              ),
              // Processed within the completed retention of its receipt.
              lag: fc.integer({ min: 0, max: LIMITS.completedRetentionMs - 60_000 }),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          housekeepingEvery: fc.integer({ min: 6 * HOUR, max: DAY }),
        }),
        async ({ delay, resends, housekeepingEvery }) => {
          const store = await RocksStore.open(dir(`case-${n++}`));
          try {
            const originalIds = { queued: guid(1), in_progress: guid(2), completed: guid(3) };
            const arrivals = [
              ...ACTIONS.map((action) => ({
                at: EVENT_AT[action] + delay,
                record: (offset: number) =>
                  jobRecord(offset, action, originalIds[action], EVENT_AT[action] + delay),
                resend: false,
              })),
              ...resends.map((r, i) => ({
                at: TC + r.age + r.lag,
                record: (offset: number) =>
                  jobRecord(offset, r.action, r.sameId ? originalIds[r.action] : guid(1000 + i), TC + r.age),
                resend: true,
              })),
            ].sort((a, b) => a.at - b.at);
            let housekeeping = arrivals[0]!.at;
            const results: DeliveryResult[] = [];
            for (const [offset, arrival] of arrivals.entries()) {
              for (; housekeeping <= arrival.at; housekeeping += housekeepingEvery) {
                await housekeepAndCommit(store, housekeeping);
              }
              const [result] = await applyAndCommit(store, [arrival.record(offset)], arrival.at);
              if (arrival.resend) results.push(result!);
            }
            // The truth: one job, queued, started and completed once.
            expect(await jobTotals(store)).toEqual({ completed: 1, queued: 1, ran: 1 });
            for (const r of results) expect(['duplicate', 'stale', 'applied']).toContain(r);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  // A job the partition does not hold, first heard of this long after it completed.
  const firstHeard: Array<[string, number, DeliveryResult]> = [
    ['at once', 1_000, 'applied'],
    ["at GitHub's 3-day redelivery limit", 3 * DAY, 'applied'],
    ['exactly the dedupe window later', LIMITS.dedupeWindowMs, 'applied'],
    ['a millisecond past the window', LIMITS.dedupeWindowMs + 1, 'stale'],
    ['a month later', 30 * DAY, 'stale'],
  ];

  it.each(firstHeard)(
    'counts a completion first heard of %s only within the window, and reprocessing agrees',
    async (_when, age, expected) => {
      for (const processedLater of [0, 20 * DAY]) {
        const store = await RocksStore.open(dir(`first-${n++}`));
        try {
          const receivedAt = TC + age;
          const results = await applyAndCommit(
            store,
            [jobRecord(0, 'completed', guid(9), receivedAt)],
            receivedAt + processedLater,
          );
          expect(results).toEqual([expected]);
          expect((await jobTotals(store)).completed).toBe(expected === 'applied' ? 1 : 0);
          // Stale from its age changes no state; its id is remembered like any delivery's.
          expect(await dedupeKeys(store)).toEqual([guid(9)]);
        } finally {
          await store.close();
        }
      }
    },
  );

  it('lets an old completion finish a job the partition holds (the state machine counts it once)', async () => {
    const store = await RocksStore.open(dir('held'));
    try {
      expect(
        await applyAndCommit(store, [jobRecord(0, 'in_progress', guid(1), EVENT_AT.in_progress)], TC),
      ).toEqual(['applied']);
      const late = TC + 6 * DAY;
      expect(
        await applyAndCommit(
          store,
          [jobRecord(1, 'completed', guid(2), late), jobRecord(2, 'completed', guid(3), late)],
          late,
        ),
      ).toEqual(['applied', 'stale']);
      expect((await jobTotals(store)).completed).toBe(1);
    } finally {
      await store.close();
    }
  });
});
