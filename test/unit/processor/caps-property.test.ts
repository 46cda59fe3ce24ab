// The caps keep every total. fast-check draws a hostile stream (many distinct workflow
// names and runs-on labels, quotes, newlines, unicode, 10 kB names), small caps and a
// length limit, and any chunking into transactions; applied through applyChunk over real
// RocksDB, every family's total (counter sums, histogram buckets, sums and counts, gauge
// members, the oldest queued job) equals the one an independent oracle computes from the
// stream's truth without caps (test/support/oracle.ts, which shares no code with the
// core). Meanwhile no family shows more label sets than its cap, no value is longer
// than the limit allows, and the gauges equal a recount of the states.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import type { InputRecord } from '../../../processor/delivery-record.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { recountGauges } from '../../../processor/recount.js';
import { RocksStore } from '../../../processor/store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../../../processor/store-layout.js';
import { decodeAggregate, isReservedKey, parseAggregateChangelogKey } from '../../../schemas/changelog.js';
import { codecs } from '../../../schemas/codecs.js';
import { METRIC_FAMILIES, MetricCatalogue, OVERFLOW_VALUE } from '../../../schemas/metrics.js';
import type { AggregateValue } from '../../../schemas/model.js';
import { hostileScenario } from '../../support/hostile.js';
import { expectedLastReceived, expectedSeries } from '../../support/oracle.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';
import { addTo, sampleTotals, type Totals, totalsDiff } from '../../support/totals.js';

const PARTITION = 1;
const NOW = 1;
const MIN = METRIC_FAMILIES.oldestQueued.name;
const LAST_RECEIVED = METRIC_FAMILIES.lastReceived.name;
const RUN_FAMILIES = new Set<string>([
  METRIC_FAMILIES.runs.name,
  METRIC_FAMILIES.runsCompleted.name,
  METRIC_FAMILIES.runDuration.name,
]);
// The pool demand family's pool is made of a job's capped labels (first-match mode).
const FLAKY = METRIC_FAMILIES.jobsFlaky.name;
const CAPPED = ['repository', 'workflow', 'runner_group', 'labels', 'pool', 'job_name'];

function cumulative(counts: readonly number[]): number[] {
  let running = 0;
  return counts.map((c) => (running += c));
}

/** The totals the store holds, from the aggregates as committed. */
function totalsOf(values: readonly AggregateValue[]): Totals {
  const totals: Totals = new Map();
  for (const v of values) {
    if (v.kind === 'counter') addTo(totals, v.name, [v.value]);
    else if (v.kind === 'histogram') addTo(totals, v.name, [...cumulative(v.bucketCounts), v.sum, v.count]);
    else addTo(totals, v.name, [v.name === MIN || v.name === LAST_RECEIVED ? v.value : v.members]);
  }
  return totals;
}

async function committed(store: RocksStore): Promise<AggregateValue[]> {
  const values: AggregateValue[] = [];
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    if (isReservedKey(parseAggregateChangelogKey(changelogKeyOf('aggregates', key)).seriesKey)) continue;
    values.push(decodeAggregate(bytes));
  }
  return values;
}

describe('caps on label sets', () => {
  const dir = useTempDir('runstream-caps-');

  it('keep every family total of the uncapped oracle, whatever the caps and the chunking', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 10_000 }),
          variety: fc.integer({ min: 1, max: 12 }),
          runCap: fc.integer({ min: 1, max: 8 }),
          jobCap: fc.integer({ min: 1, max: 12 }),
          flakyCap: fc.integer({ min: 1, max: 4 }),
          maxLength: fc.integer({ min: 16, max: 64 }),
          sizes: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 8 }),
        }),
        async ({ seed, variety, runCap, jobCap, flakyCap, maxLength, sizes }) => {
          const { deliveries, truth } = hostileScenario({
            seed,
            runs: 10,
            variety,
            duplicateRate: 0.2,
            disorderRate: 0.5,
            unfinishedRate: 0.3,
          });
          const records: InputRecord[] = deliveries.map((d, i) => ({
            offset: String(i),
            value: codecs.delivery.encode(toDelivery(d, NOW).delivery),
          }));
          const catalogue = new MetricCatalogue({
            maxLabelSets: { run: runCap, job: jobCap, flaky: flakyCap },
            labelValueMaxLength: maxLength,
          });
          const store = await RocksStore.open(dir(`round-${round++}`));
          try {
            for (let at = 0, i = 0; at < records.length; i++) {
              const chunk = records.slice(at, at + sizes[i % sizes.length]!);
              at += chunk.length;
              const pending = new PendingChanges(catalogue);
              await applyChunk(store, PARTITION, pending, chunk, NOW, DEFAULT_LIFECYCLE_LIMITS);
              await store.write(
                storeOpsFor(pending.records(PARTITION), new Map(), NOW, pending.storeOnlyOps()),
              );
            }
            const values = await committed(store);

            // Totals: exactly the uncapped oracle's.
            const got = totalsOf(values);
            const received = deliveries.map((d) => ({
              repository: (d.payload.repository as { full_name: string }).full_name,
              receivedAtMs: NOW,
            }));
            const want = sampleTotals(new Map([...expectedSeries(truth), ...expectedLastReceived(received)]));
            expect(want.get(LAST_RECEIVED)).toEqual([NOW / 1000]);
            expect(totalsDiff(got, want)).toEqual([]);
            expect(want.size).toBeGreaterThan(4);

            // Bounded: no family shows more label sets than its kind's cap; values within the limit.
            const sets = new Map<string, Set<string>>();
            for (const v of values) {
              const capped = CAPPED.filter((l) => l in v.labels).map((l) => v.labels[l]!);
              if (capped.includes(OVERFLOW_VALUE)) continue;
              const seen = sets.get(v.name) ?? new Set<string>();
              seen.add(JSON.stringify(capped));
              sets.set(v.name, seen);
              for (const value of Object.values(v.labels)) {
                expect(Array.from(value).length).toBeLessThanOrEqual(
                  maxLength + '…(truncated 0123456789ab)'.length,
                );
              }
            }
            for (const [family, seen] of sets) {
              // A delivery's repository is its run's or its job's: admitted by either cap.
              const cap =
                family === LAST_RECEIVED
                  ? runCap + jobCap
                  : family === FLAKY
                    ? flakyCap
                    : RUN_FAMILIES.has(family)
                      ? runCap
                      : jobCap;
              expect(seen.size).toBeLessThanOrEqual(cap);
            }
            // Not vacuous: more distinct runs' label sets than the cap means some went to (other).
            const runSets = new Set(truth.map((a) => `${a.repository}\u0000${a.workflow}`));
            if (runSets.size > runCap) {
              expect(
                values.some((v) => RUN_FAMILIES.has(v.name) && v.labels.workflow === OVERFLOW_VALUE),
              ).toBe(true);
            }

            // Every +1 has its -1 on the same series: the gauges are what the states say.
            const recount = await recountGauges(store, NOW, catalogue);
            expect(recount.corrected).toBe(0);
            expect(values.every((v) => v.kind !== 'gauge' || v.members >= 0)).toBe(true);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
