// Demand per runner pool (github_actions_pool_queued_jobs) through the pure core, on the
// demo's real payloads: the gauge the core keeps after every stream equals what the
// independent oracle (test/support/oracle.ts, GitHub's routing rule written without the
// catalogue) computes from the stream's truth, in both pool modes; and the rules one by
// one: all labels, no case, several pools, group targets, unmatched, waiting, overflow.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GeneratedDelivery, generateScenario } from '../../../demo/stream.js';
import { applyGaugeDelta, jobGaugeDeltas, runGaugeDeltas } from '../../../processor/core/gauges.js';
import { MetricCatalogue, type MetricOptions } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState } from '../../../schemas/model.js';
import { sampleKey } from '../../support/exposition.js';
import { expectedPoolDemand, expectedSeries, type OraclePool } from '../../support/oracle.js';
import { coreSteps } from '../../support/state.js';

const NOW = 1;
const POOL_QUEUED = 'github_actions_pool_queued_jobs';

/** The demo's label sets, as runners that carry more than jobs ask for, in mixed case. */
const POOLS: readonly OraclePool[] = [
  { name: 'linux', runnerLabels: ['Self-Hosted', 'Linux', 'X64'] },
  { name: 'linux-gpu', runnerLabels: ['self-hosted', 'linux', 'x64', 'gpu'] },
  { name: 'hosted', runnerLabels: ['ubuntu-latest', 'ubuntu-24.04'] },
];

const runnerLabels = (pools: readonly OraclePool[]): MetricOptions => ({
  poolMode: 'runner-labels',
  pools: pools.map((p) => ({ pool: p.name, patterns: [...p.runnerLabels] })),
});

/** The pool gauge the core keeps after the stream (members of every non-empty series). */
function coreDemand(
  deliveries: readonly GeneratedDelivery[],
  catalogue: MetricCatalogue,
): Map<string, number> {
  const aggregates = new Map<string, AggregateValue>();
  for (const step of coreSteps(deliveries, NOW, catalogue)) {
    const deltas =
      step.kind === 'run'
        ? runGaugeDeltas(step.previous, step.state, catalogue)
        : jobGaugeDeltas(step.previous, step.state, catalogue);
    for (const delta of deltas) {
      const key = catalogue.seriesKey(delta.name, delta.labels);
      aggregates.set(key, applyGaugeDelta(aggregates.get(key), delta, NOW, catalogue));
    }
  }
  const out = new Map<string, number>();
  for (const v of aggregates.values()) {
    if (v.name === POOL_QUEUED && v.kind === 'gauge' && v.value !== 0)
      out.set(sampleKey(v.name, v.labels), v.value);
  }
  return out;
}

const onlyPools = (series: Map<string, number>) =>
  new Map([...series].filter(([key, value]) => key.startsWith(`${POOL_QUEUED}{`) && value !== 0));

describe('demand per runner pool against the independent oracle', () => {
  it('is, in runner-labels mode, every queued job counted for each pool that carries all its labels', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        const { deliveries, truth } = generateScenario({
          seed,
          runs: 25,
          unfinishedRate: 0.7,
          disorderRate: 0.5,
        });
        const want = expectedPoolDemand(truth, POOLS);
        expect(coreDemand(deliveries, new MetricCatalogue(runnerLabels(POOLS)))).toEqual(want);
      }),
      { numRuns: 15 },
    );
  });

  it('is, in first-match mode with no pools, the queued jobs by their labels, as the oracle has always served', () => {
    const { deliveries, truth } = generateScenario({ seed: 3, runs: 40, unfinishedRate: 0.7 });
    const got = coreDemand(deliveries, new MetricCatalogue());
    expect(got.size).toBeGreaterThan(1);
    expect(got).toEqual(onlyPools(expectedSeries(truth)));
  });

  it('sees a job several pools can take in each of them, so the pools add up to more than the jobs', () => {
    const { deliveries, truth } = generateScenario({ seed: 8, runs: 40, unfinishedRate: 0.9 });
    const demand = coreDemand(deliveries, new MetricCatalogue(runnerLabels(POOLS)));
    const queued = truth.flatMap((a) => a.jobs).filter((j) => j.status === 'queued').length;
    const total = [...demand.values()].reduce((a, b) => a + b, 0);
    expect(demand.get(sampleKey(POOL_QUEUED, { pool: 'linux-gpu' }))).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(queued);
  });
});

function job(fields: Partial<JobState>): JobState {
  return {
    jobId: 1,
    runId: 1,
    runAttempt: 1,
    repository: 'o/r',
    workflow: 'CI',
    labels: '',
    runnerGroup: '',
    branchKind: '',
    overflow: false,
    runnerName: null,
    status: 'queued',
    conclusion: null,
    createdAt: 1_000,
    startedAt: null,
    completedAt: null,
    firstSeenAt: 0,
    startedSeenAt: null,
    completedSeenAt: null,
    expiredAt: null,
    ...fields,
  };
}

describe('the pools of one job', () => {
  const catalogue = new MetricCatalogue(runnerLabels(POOLS));
  const pools = (fields: Partial<JobState>) => catalogue.demandPoolsOf(job(fields));

  it('need every label of the job among the runners', () => {
    expect(pools({ labels: 'linux,self-hosted' })).toEqual(['linux', 'linux-gpu']);
    expect(pools({ labels: 'gpu,linux,self-hosted' })).toEqual(['linux-gpu']);
    expect(pools({ labels: 'GPU,Linux,SELF-HOSTED' })).toEqual(['linux-gpu']);
    expect(pools({ labels: 'gpu,self-hosted,windows' })).toEqual(['(unmatched)']);
  });

  it('name a group target by its group when the payload does, and never drop it', () => {
    expect(pools({ labels: '', runnerGroup: 'big-iron' })).toEqual(['group:big-iron']);
    expect(pools({ labels: '' })).toEqual(['(unlabelled)']);
    expect(new MetricCatalogue().demandPoolsOf(job({ labels: '' }))).toEqual(['(unlabelled)']);
  });

  it('follow the caps: (other) in first-match mode, the bounded pool names in runner-labels mode', () => {
    expect(pools({ labels: 'linux,self-hosted', overflow: true })).toEqual(['linux', 'linux-gpu']);
    expect(pools({ labels: '', runnerGroup: 'g', overflow: true })).toEqual(['(other)']);
    const first = new MetricCatalogue({ pools: [{ pool: 'linux', patterns: ['linux'] }] });
    expect(first.demandPoolsOf(job({ labels: 'linux,self-hosted' }))).toEqual(['linux']);
    expect(first.demandPoolsOf(job({ labels: 'linux,self-hosted', overflow: true }))).toEqual(['(other)']);
    expect(first.demandPoolsOf(job({ labels: 'windows-latest' }))).toEqual(['windows-latest']);
  });

  it('count only while queued: a waiting job (an approval) is no demand, a started one leaves', () => {
    const names = (previous: JobState | undefined, next: JobState | undefined) =>
      jobGaugeDeltas(previous, next, catalogue)
        .filter((d) => d.name === POOL_QUEUED)
        .map((d) => `${d.labels.pool}${d.change > 0 ? '+' : '-'}`);
    const queued = job({ labels: 'linux,self-hosted' });
    expect(names(undefined, queued)).toEqual(['linux+', 'linux-gpu+']);
    expect(names(undefined, { ...queued, status: 'waiting' })).toEqual([]);
    expect(names({ ...queued, status: 'waiting' }, queued)).toEqual(['linux+', 'linux-gpu+']);
    expect(names(queued, { ...queued, status: 'in_progress' })).toEqual(['linux-', 'linux-gpu-']);
    expect(names(queued, { ...queued, expiredAt: 5 })).toEqual(['linux-', 'linux-gpu-']);
  });

  it('leave the labels label of the other families as it is in runner-labels mode', () => {
    const served = catalogue.seriesLabels('github_actions_jobs', { labels: 'linux,self-hosted' });
    expect(served.labels).toBe('linux,self-hosted');
  });
});
