// Flaky jobs and busy runners through the processor's shell (applyChunk over real
// RocksDB, housekeeping), against the independent oracle (test/support/oracle.ts) on
// re-run streams from real payloads: full re-runs and "re-run failed jobs" attempts,
// duplicated, disordered (an attempt 2 success before the attempt 1 failure), chunked
// any way; and a re-run long after the failed attempt's job state was retired.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GeneratedDelivery, generateScenario } from '../../../demo/stream.js';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import type { InputRecord } from '../../../processor/delivery-record.js';
import { scanForHousekeeping } from '../../../processor/housekeeping.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { RocksStore } from '../../../processor/store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../../../processor/store-layout.js';
import {
  decodeAggregate,
  isRerunKey,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { DEFAULT_CATALOGUE, MetricCatalogue } from '../../../schemas/metrics.js';
import { sampleKey } from '../../support/exposition.js';
import { servedGauges } from '../../support/gauges.js';
import { expectedSeries } from '../../support/oracle.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';
import { example, retimed } from '../../support/webhooks.js';

const PARTITION = 0;
const FLAKY = 'github_actions_jobs_flaky_total';
const BUSY = 'github_actions_runners_busy';
const HOUR = 3_600_000;

/** Applies records in chunks of the given sizes, committing each to the store. */
async function applyAll(
  store: RocksStore,
  records: readonly InputRecord[],
  now: number,
  sizes: readonly number[] = [records.length],
  catalogue = DEFAULT_CATALOGUE,
): Promise<void> {
  for (let at = 0, i = 0; at < records.length; i++) {
    const chunk = records.slice(at, at + sizes[i % sizes.length]!);
    at += chunk.length;
    const pending = new PendingChanges(catalogue);
    await applyChunk(store, PARTITION, pending, chunk, now, DEFAULT_LIFECYCLE_LIMITS);
    await store.write(storeOpsFor(pending.records(PARTITION), new Map(), now, pending.storeOnlyOps()));
  }
}

const recordsOf = (deliveries: readonly GeneratedDelivery[], receivedAt: number, first = 0): InputRecord[] =>
  deliveries.map((d, i) => ({
    offset: String(first + i),
    value: codecs.delivery.encode(toDelivery(d, receivedAt).delivery),
  }));

/** The flaky counters and busy gauges the store serves, as sample keys. */
async function served(store: RocksStore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const gauges = [];
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
    const value = decodeAggregate(bytes);
    if (value.name === FLAKY && value.kind === 'counter')
      out.set(sampleKey(value.name, value.labels), value.value);
    if (value.name === BUSY) gauges.push(value);
  }
  for (const [key, value] of servedGauges(gauges)) out.set(key, value);
  return out;
}

const only = (series: Map<string, number>): Map<string, number> =>
  new Map([...series].filter(([key]) => key.startsWith(FLAKY) || key.startsWith(BUSY)));

async function rerunRecords(store: RocksStore): Promise<number> {
  let n = 0;
  for await (const [key] of store.scan(storePrefix('aggregates'))) {
    if (isRerunKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) n += 1;
  }
  return n;
}

/** A real workflow_job payload of one attempt of job `name` in run `runId`. */
function jobEvent(
  runId: number,
  jobId: number,
  attempt: number,
  name: string,
  action: 'in_progress' | 'completed',
  conclusion: string | null,
  latestMs: number,
  id: string,
): GeneratedDelivery {
  const payload = retimed(example('workflow_job', action), latestMs);
  Object.assign(payload.workflow_job as object, {
    id: jobId,
    run_id: runId,
    run_attempt: attempt,
    name,
    conclusion,
    runner_group_name: 'Default',
  });
  return { id, event: 'workflow_job', action, payload };
}

const guid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('flaky jobs and busy runners over real RocksDB', () => {
  const dir = useTempDir('runstream-reruns-');

  it('equal the oracle on re-run streams, duplicated, disordered and chunked any way', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 100_000 }),
          sizes: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }),
        }),
        async ({ seed, sizes }) => {
          const { deliveries, truth } = generateScenario({
            seed,
            runs: 25,
            rerunFailedRate: 0.9,
            duplicateRate: 0.2,
            disorderRate: 0.6,
            unfinishedRate: 0.3,
          });
          const store = await RocksStore.open(dir(`round-${round++}`));
          try {
            await applyAll(store, recordsOf(deliveries, 1), 1, sizes);
            const want = only(expectedSeries(truth));
            expect(only(await served(store))).toEqual(new Map([...want].filter(([, v]) => v !== 0)));
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('the streams are not vacuous: flaky jobs of re-run-failed-only attempts, successes before failures', () => {
    const { deliveries, truth } = generateScenario({
      seed: 4,
      runs: 60,
      rerunFailedRate: 1,
      disorderRate: 1,
    });
    const flaky = [...only(expectedSeries(truth))].filter(([k]) => k.startsWith(FLAKY));
    expect(flaky.reduce((sum, [, v]) => sum + v, 0)).toBeGreaterThan(5);
    // Some attempt's success comes before an earlier attempt's failure of the same job.
    const completions = deliveries
      .filter((d) => d.event === 'workflow_job' && d.action === 'completed')
      .map(
        (d) =>
          d.payload.workflow_job as { run_id: number; name: string; run_attempt: number; conclusion: string },
      );
    const early = completions.some((s, i) =>
      completions
        .slice(i + 1)
        .some(
          (f) =>
            s.conclusion === 'success' &&
            f.conclusion === 'failure' &&
            f.run_id === s.run_id &&
            f.name === s.name &&
            f.run_attempt < s.run_attempt,
        ),
    );
    expect(early).toBe(true);
    // Re-run failed jobs only: an attempt that re-ran fewer jobs than the one before.
    expect(
      truth.some(
        (t) =>
          t.attempt > 1 &&
          truth.find((p) => p.runId === t.runId && p.attempt === t.attempt - 1)!.jobs.length > t.jobs.length,
      ),
    ).toBe(true);
  });

  it('counts a re-run that comes after the failed job was retired, once, and forgets the job after the run limit', async () => {
    const store = await RocksStore.open(dir('retired'));
    try {
      const t0 = Date.now() - 2 * HOUR;
      const runId = 555;
      const failed = jobEvent(runId, 1, 1, 'e2e', 'completed', 'failure', t0, guid(1));
      await applyAll(store, recordsOf([failed], t0 + 1000), t0 + 1000);
      expect(await rerunRecords(store)).toBe(1);

      // Housekeeping a day and more later: the job state of attempt 1 is retired.
      const later = t0 + 25 * HOUR;
      const pending = await scanForHousekeeping(
        store,
        PARTITION,
        later,
        DEFAULT_LIFECYCLE_LIMITS,
        1000,
        DEFAULT_CATALOGUE,
      );
      expect([...pending.jobs.values()]).toEqual([null]);
      expect(pending.reruns.size).toBe(0);
      await store.write(storeOpsFor(pending.records(PARTITION), new Map(), later, pending.storeOnlyOps()));
      for await (const _ of store.scan(storePrefix('jobs'))) throw new Error('job state not retired');

      // The re-run two days later: running (busy), then successful; resent under a new id.
      const rerunAt = t0 + 48 * HOUR;
      const running = jobEvent(runId, 2, 2, 'e2e', 'in_progress', null, rerunAt, guid(2));
      await applyAll(store, recordsOf([running], rerunAt), rerunAt, [1]);
      const labels = (running.payload.workflow_job as { labels: string[] }).labels;
      const busy = sampleKey(BUSY, { runner_group: 'Default', labels: labels.toSorted().join(',') });
      expect((await served(store)).get(busy)).toBe(1);

      const succeeded = jobEvent(runId, 2, 2, 'e2e', 'completed', 'success', rerunAt + 60_000, guid(3));
      const resent = { ...succeeded, id: guid(4) };
      await applyAll(
        store,
        recordsOf([succeeded, succeeded, resent], rerunAt + 61_000, 10),
        rerunAt + 61_000,
        [1],
      );
      const repository = (succeeded.payload.repository as { full_name: string }).full_name;
      const workflow = (succeeded.payload.workflow_job as { workflow_name: string }).workflow_name;
      const flaky = sampleKey(FLAKY, { repository, workflow, job_name: 'e2e' });
      // The runner is free again (an emptied gauge is left out), the job counted once.
      expect(await served(store)).toEqual(new Map([[flaky, 1]]));

      // The failure again, under a new id, after the retirement: stale, nothing more counted.
      const again = { ...failed, id: guid(5) };
      await applyAll(store, recordsOf([again], rerunAt + 62_000, 20), rerunAt + 62_000);
      expect((await served(store)).get(flaky)).toBe(1);

      // Unchanged for longer than the run limit: the re-run record goes, the counter stays.
      const gone = rerunAt + DEFAULT_LIFECYCLE_LIMITS.runMaxAgeMs + 120_000;
      const sweep = await scanForHousekeeping(
        store,
        PARTITION,
        gone,
        DEFAULT_LIFECYCLE_LIMITS,
        1000,
        DEFAULT_CATALOGUE,
      );
      expect([...sweep.reruns.values()]).toEqual([null]);
      await store.write(storeOpsFor(sweep.records(PARTITION), new Map(), gone, sweep.storeOnlyOps()));
      expect(await rerunRecords(store)).toBe(0);
      expect((await served(store)).get(flaky)).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('serves flaky jobs past the flaky cap as (other), keeping the total', async () => {
    const store = await RocksStore.open(dir('capped'));
    try {
      const t = Date.now() - HOUR;
      const events = ['lint', 'unit', 'e2e'].flatMap((name, i) => [
        jobEvent(700 + i, 10 + i, 1, name, 'completed', 'failure', t, guid(100 + i)),
        jobEvent(700 + i, 20 + i, 2, name, 'completed', 'success', t + 1000, guid(200 + i)),
      ]);
      const catalogue = new MetricCatalogue({ maxLabelSets: { flaky: 2 } });
      await applyAll(store, recordsOf(events, t + 2000), t + 2000, [1], catalogue);
      const flaky = [...(await served(store))].filter(([k]) => k.startsWith(FLAKY));
      expect(flaky).toHaveLength(3);
      expect(flaky.filter(([k]) => k.includes('(other)'))).toEqual([
        [sampleKey(FLAKY, { repository: '(other)', workflow: '(other)', job_name: '(other)' }), 1],
      ]);
      expect(flaky.reduce((sum, [, v]) => sum + v, 0)).toBe(3);
    } finally {
      await store.close();
    }
  });
});
