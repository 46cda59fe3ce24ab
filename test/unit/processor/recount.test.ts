// The recount after a restore, over real RocksDB: a store whose gauges match its runs
// and jobs needs no correction; a tampered gauge is put back, an invented one emptied;
// a store written before gauges were kept gets them all; the queued-jobs index is
// rebuilt either way.
import { describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { recountGauges } from '../../../processor/recount.js';
import { type KeyValueStore, RocksStore } from '../../../processor/store.js';
import {
  changelogKeyOf,
  QUEUE_INDEX_PREFIX,
  storeKey,
  storeOpsFor,
  storePrefix,
} from '../../../processor/store-layout.js';
import {
  aggregateChangelogKey,
  decodeAggregate,
  decodeJob,
  decodeRun,
  encodeAggregate,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { DEFAULT_CATALOGUE } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState, RunState } from '../../../schemas/model.js';
import { gaugesOf, servedGauges } from '../../support/gauges.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';

const PARTITION = 2;
const LAST_RECEIVED = 'runstream_delivery_last_received_timestamp_seconds';
const sameSeries = (a: AggregateValue, b: AggregateValue) =>
  a.name === b.name && JSON.stringify(a.labels) === JSON.stringify(b.labels);
const NOW = Date.now();
const stream = generateStream({ seed: 5, runs: 15, unfinishedRate: 0.6, startMs: NOW - 3_600_000 });

async function filled(dir: string): Promise<RocksStore> {
  const store = await RocksStore.open(dir);
  const pending = new PendingChanges(DEFAULT_CATALOGUE);
  const records = stream.map((d, i) => ({
    offset: String(i),
    value: codecs.delivery.encode(toDelivery(d).delivery),
  }));
  await applyChunk(store, PARTITION, pending, records, NOW, DEFAULT_LIFECYCLE_LIMITS);
  await store.write(storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()));
  return store;
}

async function contents(store: RocksStore) {
  const runs: RunState[] = [];
  const jobs: JobState[] = [];
  const gauges: AggregateValue[] = [];
  const queue: string[] = [];
  for await (const [, b] of store.scan(storePrefix('runs'))) runs.push(decodeRun(b));
  for await (const [, b] of store.scan(storePrefix('jobs'))) jobs.push(decodeJob(b));
  for await (const [key, b] of store.scan(storePrefix('aggregates'))) {
    if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
    const v = decodeAggregate(b);
    if (v.kind === 'gauge') gauges.push(v);
  }
  for await (const [key] of store.scan(QUEUE_INDEX_PREFIX)) queue.push(key);
  return { runs, jobs, gauges, queue };
}

async function applied(store: RocksStore, pending: PendingChanges): Promise<void> {
  await store.write(storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()));
}

describe('recountGauges', () => {
  const dir = useTempDir('runstream-recount-');

  it('finds nothing to correct in a consistent store, and rebuilds the same index', async () => {
    const store = await filled(dir('consistent'));
    try {
      const before = await contents(store);
      expect(before.queue.length).toBeGreaterThan(0);
      const recount = await recountGauges(store, NOW, DEFAULT_CATALOGUE);
      expect(recount).toMatchObject({ corrected: 0, hadGauges: true });
      await applied(store, recount.pending);
      expect((await contents(store)).queue).toEqual(before.queue);
    } finally {
      await store.close();
    }
  });

  it('puts a tampered gauge back, empties an invented one, and says it had gauges', async () => {
    const store = await filled(dir('tampered'));
    try {
      const { runs, jobs, gauges } = await contents(store);
      // A series of a family keyed by repository, so the invented one is another series.
      const victim = gauges.find(
        (g) => g.kind === 'gauge' && g.members > 0 && 'repository' in g.labels && g.name !== LAST_RECEIVED,
      )!;
      // The last-received time comes from the deliveries, not from states: recount leaves it be.
      const received = gauges.find((g) => g.name === LAST_RECEIVED)!;
      const invented: AggregateValue = {
        ...victim,
        labels: { ...victim.labels, repository: 'nobody/nothing' },
      };
      const key = (v: AggregateValue) =>
        storeKey(
          'aggregates',
          aggregateChangelogKey(PARTITION, DEFAULT_CATALOGUE.seriesKey(v.name, v.labels)),
        );
      await store.write([
        { key: key(victim), value: encodeAggregate({ ...victim, value: 99, members: 99 } as AggregateValue) },
        { key: key(invented), value: encodeAggregate(invented) },
        { key: key(received), value: encodeAggregate({ ...received, value: 12345 } as AggregateValue) },
        { key: `${QUEUE_INDEX_PREFIX}stale|000000000001|1`, value: Buffer.alloc(0) },
      ]);
      const recount = await recountGauges(store, NOW, DEFAULT_CATALOGUE);
      expect(recount).toMatchObject({ corrected: 2, hadGauges: true });
      await applied(store, recount.pending);
      const after = await contents(store);
      expect(servedGauges(after.gauges)).toEqual(gaugesOf(runs, jobs));
      expect(after.gauges.find((g) => sameSeries(g, received))).toMatchObject({ value: 12345 });
      expect(after.queue).not.toContain(`${QUEUE_INDEX_PREFIX}stale|000000000001|1`);
    } finally {
      await store.close();
    }
  });

  it('rebuilds the index in the store itself, a bounded batch per write, nothing of it held', async () => {
    const store = await filled(dir('batched'));
    try {
      const before = await contents(store);
      expect(before.queue.length).toBeGreaterThan(2);
      // A stale entry, and the index otherwise gone: the recount alone must bring it back.
      const stale = `${QUEUE_INDEX_PREFIX}stale|000000000001|1`;
      await store.write([
        ...before.queue.map((key) => ({ key, value: null })),
        { key: stale, value: Buffer.alloc(0) },
      ]);
      const writes: number[] = [];
      const counting: KeyValueStore = {
        get: (key) => store.get(key),
        getMany: (keys) => store.getMany(keys),
        scan: (prefix) => store.scan(prefix),
        values: (prefix) => store.values(prefix),
        clearPrefix: (prefix) => store.clearPrefix(prefix),
        clear: () => store.clear(),
        close: () => store.close(),
        write: (ops) => {
          writes.push(ops.length);
          return store.write(ops);
        },
      };
      const recount = await recountGauges(counting, NOW, DEFAULT_CATALOGUE, 2);
      expect(recount.pending.queue.size).toBe(0);
      expect(Math.max(...writes)).toBeLessThanOrEqual(2);
      expect(writes.reduce((a, b) => a + b, 0)).toBe(before.queue.length);
      expect((await contents(store)).queue).toEqual(before.queue);
    } finally {
      await store.close();
    }
  });

  it('counts every gauge of a store written before gauges were kept', async () => {
    const store = await filled(dir('legacy'));
    try {
      const { runs, jobs, gauges } = await contents(store);
      const ops = [];
      for await (const [key, b] of store.scan(storePrefix('aggregates'))) {
        if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
        if (decodeAggregate(b).kind === 'gauge') ops.push({ key, value: null });
      }
      for await (const [key] of store.scan(QUEUE_INDEX_PREFIX)) ops.push({ key, value: null });
      await store.write(ops);
      const recount = await recountGauges(store, NOW, DEFAULT_CATALOGUE);
      expect(recount.hadGauges).toBe(false);
      expect(recount.corrected).toBe(
        gauges.filter((g) => g.kind === 'gauge' && g.members > 0 && g.name !== LAST_RECEIVED).length,
      );
      await applied(store, recount.pending);
      expect(servedGauges((await contents(store)).gauges)).toEqual(gaugesOf(runs, jobs));
    } finally {
      await store.close();
    }
  });
});
