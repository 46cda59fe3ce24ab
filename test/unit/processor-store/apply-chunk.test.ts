// The processor's chunk step against real RocksDB: however the input is cut into
// transactions, the committed state equals the pure core applied in order, and every
// record gets the result it deserves (duplicate, invalid, applied or stale).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import {
  applyChunk,
  type DeliveryResult,
  type InputRecord,
  PendingChanges,
  storeOpsFor,
} from '../../../processor/batch.js';
import {
  checkpointKey,
  decodeAggregate,
  decodeJob,
  decodeRun,
  storePrefix,
} from '../../../processor/changelog.js';
import { aggregateKey } from '../../../processor/core/aggregates.js';
import { runIdOf } from '../../../processor/core/parse.js';
import type { AggregateValue, JobState, RunState } from '../../../processor/core/types.js';
import { RocksStore } from '../../../processor/store.js';
import { codecs } from '../../../schemas/index.js';
import { comparable, expectedState, type FoldedState } from '../../support/state.js';

const PARTITION = 3;
const NOW = 1;

const stream = generateStream({ seed: 11, runs: 12, duplicateRate: 0.25, disorderRate: 0.5 });

function recordOf(offset: number, value: Buffer | null): InputRecord {
  return { offset: String(offset), value };
}

/** The stream as input records, with a garbage record and a delivery whose body is not JSON. */
function inputRecords(): InputRecord[] {
  const records = stream.map((d, i) =>
    recordOf(
      i,
      codecs.delivery.encode({
        id: d.id,
        event: d.event,
        action: d.action,
        hookId: '1',
        installationTargetType: null,
        installationTargetId: null,
        receivedAt: NOW,
        source: 'webhook',
        runId: runIdOf(d.event, d.payload) ?? 0,
        body: Buffer.from(JSON.stringify(d.payload)),
      }),
    ),
  );
  const badJson = codecs.delivery.encode({
    id: 'not-json',
    event: 'workflow_job',
    action: 'queued',
    hookId: '1',
    installationTargetType: null,
    installationTargetId: null,
    receivedAt: NOW,
    source: 'webhook',
    runId: 1,
    body: Buffer.from('{"truncated":'),
  });
  records.splice(5, 0, recordOf(-1, Buffer.from([0, 0, 0, 0, 9, 1, 2])));
  records.splice(9, 0, recordOf(-1, badJson));
  return records.map((r, i) => ({ ...r, offset: String(i) }));
}

async function committedState(store: RocksStore): Promise<FoldedState> {
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  const aggregates = new Map<string, AggregateValue>();
  for await (const [key, bytes] of store.scan(storePrefix('runs'))) runs.set(key.slice(2), decodeRun(bytes));
  for await (const [key, bytes] of store.scan(storePrefix('jobs'))) jobs.set(key.slice(2), decodeJob(bytes));
  for await (const [, bytes] of store.scan(storePrefix('aggregates'))) {
    const value = decodeAggregate(bytes);
    aggregates.set(aggregateKey(value.name, value.labels), value);
  }
  return { runs, jobs, aggregates };
}

describe('applyChunk over real RocksDB', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'runstream-chunk-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('gives the in-order core state and the right result per record, however the input is chunked', async () => {
    const records = inputRecords();
    const expected = comparable(expectedState(stream, NOW));
    const distinct = new Set(stream.map((d) => d.id)).size;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        async (sizes) => {
          const store = await RocksStore.open(join(root, `run-${run++}`));
          try {
            const results: DeliveryResult[] = [];
            for (let at = 0, i = 0; at < records.length; i++) {
              const chunk = records.slice(at, at + sizes[i % sizes.length]!);
              at += chunk.length;
              const pending = new PendingChanges();
              results.push(...(await applyChunk(store, PARTITION, pending, chunk, NOW)));
              await store.write(storeOpsFor(pending.records(PARTITION), new Map(), checkpointKey));
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
    const store = await RocksStore.open(join(root, 'retired'));
    try {
      const commit = async (pending: PendingChanges) =>
        store.write(storeOpsFor(pending.records(PARTITION), new Map(), checkpointKey));
      const first = new PendingChanges();
      await applyChunk(store, PARTITION, first, inputRecords(), NOW);
      await commit(first);
      const before = await committedState(store);

      // Housekeeping retires every completed entity once its retention is over.
      const housekeeping = new PendingChanges();
      const retired = new Set<string>();
      for (const [key, run] of before.runs)
        if (run.status === 'completed') housekeeping.retire('run', key, NOW + 1);
      for (const [key, job] of before.jobs) {
        if (job.status !== 'completed') continue;
        housekeeping.retire('job', key, NOW + 1);
        retired.add(key);
      }
      await commit(housekeeping);
      expect(retired.size).toBeGreaterThan(0);

      // A backfill brings the earlier events of those entities under new delivery ids.
      const late = stream
        .filter((d) => d.event === 'workflow_job' && d.action !== 'completed')
        .filter((d) => retired.has(String((d.payload.workflow_job as { id: number }).id)))
        .map((d, i) =>
          recordOf(
            10_000 + i,
            codecs.delivery.encode({
              id: `backfill-${i}`,
              event: d.event,
              action: d.action,
              hookId: '1',
              installationTargetType: null,
              installationTargetId: null,
              receivedAt: NOW + 2,
              source: 'replay',
              runId: runIdOf(d.event, d.payload) ?? 0,
              body: Buffer.from(JSON.stringify(d.payload)),
            }),
          ),
        );
      expect(late.length).toBeGreaterThan(0);
      const backfill = new PendingChanges();
      const results = await applyChunk(store, PARTITION, backfill, late, NOW + 2);
      await commit(backfill);
      expect(new Set(results)).toEqual(new Set(['stale']));
      const after = await committedState(store);
      expect([...after.jobs.keys()].filter((key) => retired.has(key))).toEqual([]);
      expect(comparable(after).aggregates).toEqual(comparable(before).aggregates);
    } finally {
      await store.close();
    }
  });
});
