// Cardinality controls through the pure core, on the demo's real payloads: a family
// with a label dropped counts exactly the sums of the full family over the same stream
// (counters, histogram buckets, sums and counts, gauge members); runner pools are the
// full series with their labels renamed and summed; a repository filter is the stream
// without those repositories. The oracle sums plain numbers, without the core.
import { describe, expect, it } from 'vitest';
import { type GeneratedDelivery, generateScenario } from '../../../demo/stream.js';
import { applyDelta } from '../../../processor/core/aggregates.js';
import { applyGaugeDelta, jobGaugeDeltas, runGaugeDeltas } from '../../../processor/core/gauges.js';
import { AGGREGATE_FAMILIES, MetricCatalogue, type MetricOptions } from '../../../schemas/metrics.js';
import type { AggregateValue, Labels } from '../../../schemas/model.js';
import { sampleKey } from '../../support/exposition.js';
import { coreSteps } from '../../support/state.js';

const NOW = 1;

/**
 * The demo stream with every other run on a branch that is not the repository's
 * default (the example payloads all run on it), so branch_kind takes both values.
 */
function scenario(seed: number): GeneratedDelivery[] {
  return generateScenario({ seed, runs: 30, duplicateRate: 0.2, disorderRate: 0.5 }).deliveries.map((d) => {
    const entity = (d.payload.workflow_run ?? d.payload.workflow_job) as { run_id?: number; id: number };
    const runId = d.event === 'workflow_run' ? entity.id : entity.run_id!;
    if (runId % 2 === 0) return d;
    const field = d.event === 'workflow_run' ? 'workflow_run' : 'workflow_job';
    return { ...d, payload: { ...d.payload, [field]: { ...(entity as object), head_branch: 'feature' } } };
  });
}

/** Every aggregate (counters, histograms, count and oldest-queued gauges) the core keeps for the stream. */
function coreAggregates(
  deliveries: readonly GeneratedDelivery[],
  catalogue: MetricCatalogue,
): AggregateValue[] {
  const aggregates = new Map<string, AggregateValue>();
  for (const step of coreSteps(deliveries, NOW, catalogue)) {
    for (const delta of step.deltas) {
      const key = catalogue.seriesKey(delta.name, delta.labels);
      aggregates.set(key, applyDelta(aggregates.get(key), delta, catalogue));
    }
    const gauges =
      step.kind === 'run'
        ? runGaugeDeltas(step.previous, step.state, catalogue)
        : jobGaugeDeltas(step.previous, step.state, catalogue);
    for (const delta of gauges) {
      const key = catalogue.seriesKey(delta.name, delta.labels);
      aggregates.set(key, applyGaugeDelta(aggregates.get(key), delta, NOW, catalogue));
    }
  }
  return [...aggregates.values()];
}

/** What a series counts, as plain numbers: a counter's value; a histogram's buckets, sum and count; a gauge's members. */
function numbers(value: AggregateValue): number[] {
  if (value.kind === 'counter') return [value.value];
  if (value.kind === 'histogram') return [...value.bucketCounts, value.sum, value.count];
  return [value.members];
}

/** The oracle: series regrouped by `relabel` (name and labels) and their numbers added. */
function regrouped(
  values: readonly AggregateValue[],
  relabel: (value: AggregateValue) => Labels,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const value of values) {
    const key = sampleKey(value.name, relabel(value));
    const sum = out.get(key);
    const add = numbers(value);
    out.set(key, sum ? sum.map((n, i) => n + add[i]!) : add);
  }
  return out;
}

const asServed = (values: readonly AggregateValue[]) => regrouped(values, (v) => v.labels);

const without = (labels: Labels, dropped: string): Labels =>
  Object.fromEntries(Object.entries(labels).filter(([name]) => name !== dropped));

describe('a family with a label dropped', () => {
  for (const seed of [3, 17]) {
    it(`counts the sums of the full family, for every family and label (seed ${seed})`, () => {
      const stream = scenario(seed);
      const full = new MetricCatalogue({ branchKind: true });
      const all = coreAggregates(stream, full);
      expect(new Set(all.map((v) => v.labels.branch_kind).filter((k) => k !== undefined))).toEqual(
        new Set(['default', 'other']),
      );
      let checked = 0;
      for (const family of full.families) {
        for (const dropped of family.labels) {
          const kept = family.labels.filter((label) => label !== dropped);
          const catalogue = new MetricCatalogue({ branchKind: true, labels: { [family.name]: kept } });
          const served = asServed(coreAggregates(stream, catalogue));
          const sums = regrouped(all, (v) =>
            v.name === family.name ? without(v.labels, dropped) : v.labels,
          );
          expect(served, `${family.name} without ${dropped}`).toEqual(sums);
          checked += 1;
        }
      }
      expect(checked).toBe(
        AGGREGATE_FAMILIES.reduce((n, f) => n + f.labels.length + (f.optional?.length ?? 0), 0),
      );
    });
  }

  it('without branch_kind anywhere, counts what the default catalogue counts', () => {
    const stream = scenario(5);
    const labels: MetricOptions['labels'] = Object.fromEntries(
      AGGREGATE_FAMILIES.map((f) => [f.name, f.labels]),
    );
    expect(asServed(coreAggregates(stream, new MetricCatalogue({ branchKind: true, labels })))).toEqual(
      asServed(coreAggregates(stream, new MetricCatalogue())),
    );
  });
});

describe('runner pools', () => {
  it('are the full series with their runs-on labels named by pool, summed', () => {
    const stream = scenario(7);
    const pools = [
      { pool: 'ubuntu', patterns: ['ubuntu-*'] },
      { pool: 'windows', patterns: ['WINDOWS-*'] },
      { pool: 'gpu', patterns: ['gpu'] },
      { pool: 'self-hosted', patterns: ['self-hosted'] },
    ];
    // Written out by hand: the demo's label sets and the pool each rule gives it (first rule wins).
    const named: Record<string, string> = {
      'ubuntu-latest': 'ubuntu',
      'windows-latest': 'windows',
      'gpu,self-hosted': 'gpu',
      'linux,self-hosted,x64': 'self-hosted',
    };
    const all = coreAggregates(stream, new MetricCatalogue());
    const pooled = asServed(coreAggregates(stream, new MetricCatalogue({ pools })));
    // The pool demand family is named by the same rule (first-match mode).
    const sums = regrouped(all, (v) =>
      v.labels.labels !== undefined
        ? { ...v.labels, labels: named[v.labels.labels] ?? v.labels.labels }
        : v.labels.pool !== undefined
          ? { pool: named[v.labels.pool] ?? v.labels.pool }
          : v.labels,
    );
    expect(pooled).toEqual(sums);
    expect([...pooled.keys()].some((key) => key.includes('labels="gpu"'))).toBe(true);
    expect([...pooled.keys()].some((key) => key.includes('pool="gpu"'))).toBe(true);
  });
});

describe('repository filters', () => {
  it('count the stream without the repositories left out, and nothing of theirs', () => {
    const stream = scenario(9);
    const repositories = { include: ['octo-org/*', 'ACME/infra'], exclude: ['octo-org/w?b'] };
    const kept = new Set(['octo-org/octo-repo', 'octo-org/api', 'acme/infra']);
    const filtered = coreAggregates(stream, new MetricCatalogue({ repositories }));
    const only = stream.filter((d) => kept.has((d.payload.repository as { full_name: string }).full_name));
    expect(only.length).toBeGreaterThan(0);
    expect(only.length).toBeLessThan(stream.length);
    expect(asServed(filtered)).toEqual(asServed(coreAggregates(only, new MetricCatalogue())));
    expect(filtered.every((v) => v.labels.repository === undefined || kept.has(v.labels.repository))).toBe(
      true,
    );
  });
});
