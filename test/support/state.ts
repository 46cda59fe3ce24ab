// The state the processors committed (folded from the changelogs, as any reader would
// see it) and the state the pure core computes from the input, in order, independently
// of Kafka. The core's side is no oracle for the series (a counting bug in the core
// would show on both sides): end-to-end tests compare the committed series with
// test/support/oracle.ts (test/support/committed.ts), and use the core's side only for
// what the oracle cannot say, the per-entity state (expectedEntities), or to test the
// shell's apply against the core in unit tests.

import type { GeneratedDelivery } from '../../demo/stream.js';
import { mergeAggregates } from '../../exporter/merge.js';
import type { TopicNames } from '../../platform/topics.js';
import { applyDelta } from '../../processor/core/aggregates.js';
import { applyRerun, flakyDelta, isFirstCompletion } from '../../processor/core/reruns.js';
import { applyJob, applyRun, jobKey, runKey } from '../../processor/core/state-machine.js';
import type { AggregateDelta, JobObservation } from '../../processor/core/types.js';
import {
  decodeAggregate,
  decodeJob,
  decodeRun,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../schemas/changelog.js';
import { DEFAULT_CATALOGUE, type MetricCatalogue } from '../../schemas/metrics.js';
import type { AggregateValue, JobState, RerunState, RunState } from '../../schemas/model.js';
import { parseDelivery } from '../../schemas/observation.js';
import { gaugesOf, servedGauges } from './gauges.js';
import { readTopic } from './kafka.js';

export interface FoldedState {
  runs: Map<string, RunState>;
  jobs: Map<string, JobState>;
  /** Counters and histograms, summed over partitions, by DEFAULT_CATALOGUE.seriesKey(name, labels). */
  aggregates: Map<string, AggregateValue>;
  /** Served gauge values of label sets with active entities (test/support/gauges.ts). */
  gauges: Map<string, number>;
}

/** Fields that depend on when a processor saw an event, not on the events. */
export function withoutProcessingTimes<T extends RunState | JobState>(state: T): Partial<T> {
  const {
    firstSeenAt: _a,
    completedSeenAt: _b,
    expiredAt: _c,
    ...rest
  } = state as T & { startedSeenAt?: unknown };
  delete (rest as { startedSeenAt?: unknown }).startedSeenAt;
  return rest as Partial<T>;
}

function byKey(values: AggregateValue[]): Map<string, AggregateValue> {
  return new Map(
    mergeAggregates(values.filter((v) => v.kind !== 'gauge')).map((v) => [
      DEFAULT_CATALOGUE.seriesKey(v.name, v.labels),
      v,
    ]),
  );
}

export async function foldChangelogs(names: TopicNames): Promise<FoldedState> {
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  const aggregates = new Map<string, AggregateValue>();
  for (const r of await readTopic(names.runsChangelog)) {
    const key = r.message.key!.toString();
    if (r.message.value) runs.set(key, decodeRun(r.message.value));
    else runs.delete(key);
  }
  for (const r of await readTopic(names.jobsChangelog)) {
    const key = r.message.key!.toString();
    if (r.message.value) jobs.set(key, decodeJob(r.message.value));
    else jobs.delete(key);
  }
  for (const r of await readTopic(names.aggregatesChangelog)) {
    const key = r.message.key!.toString();
    if (isReservedKey(parseAggregateChangelogKey(key).seriesKey)) continue; // caps', re-runs' and position records
    if (r.message.value) aggregates.set(key, decodeAggregate(r.message.value));
    else aggregates.delete(key);
  }
  const values = [...aggregates.values()];
  return { runs, jobs, aggregates: byKey(values), gauges: servedGauges(values) };
}

/** One applied delivery: the entity's state before and after, and the aggregate deltas. */
export type CoreStep =
  | { kind: 'run'; key: string; previous: RunState | undefined; state: RunState; deltas: AggregateDelta[] }
  | {
      kind: 'job';
      key: string;
      previous: JobState | undefined;
      state: JobState;
      deltas: AggregateDelta[];
      observation: JobObservation;
    };

/**
 * The pure core's state machines applied to the input in order, with dedupe by
 * delivery id, leaving out what `catalogue` does not admit; each step to fold as a test needs.
 */
export function* coreSteps(
  deliveries: readonly GeneratedDelivery[],
  now: number,
  catalogue: MetricCatalogue = DEFAULT_CATALOGUE,
): Generator<CoreStep> {
  const seen = new Set<string>();
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  for (const d of deliveries) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    const parsed = parseDelivery(d.event, d.payload);
    if (!parsed.ok || !catalogue.admits(parsed.observation.repository)) continue;
    const o = parsed.observation;
    if (o.kind === 'run') {
      const key = runKey(o.runId, o.runAttempt);
      const previous = runs.get(key);
      const { state, deltas } = applyRun(previous, o, now);
      runs.set(key, state);
      yield { kind: 'run', key, previous, state, deltas };
    } else {
      const key = jobKey(o.jobId);
      const previous = jobs.get(key);
      const { state, deltas } = applyJob(previous, o, now);
      jobs.set(key, state);
      yield { kind: 'job', key, previous, state, deltas, observation: o };
    }
  }
}

/** The pure core applied to the input in order, with dedupe by delivery id. */
export function expectedState(deliveries: readonly GeneratedDelivery[], now = 1): FoldedState {
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  const aggregates = new Map<string, AggregateValue>();
  const reruns = new Map<string, RerunState>();
  for (const step of coreSteps(deliveries, now)) {
    const deltas = [...step.deltas];
    if (step.kind === 'run') runs.set(step.key, step.state);
    else {
      jobs.set(step.key, step.state);
      // Flaky jobs: a job's first completion fed to its run's and name's re-run state.
      const { observation: o } = step;
      const key = `${o.runId}|${o.name}`;
      const rerun = isFirstCompletion(step.previous, step.state)
        ? applyRerun(reruns.get(key), o, now)
        : undefined;
      if (rerun) reruns.set(key, rerun.state);
      if (rerun?.flaky) deltas.push(flakyDelta(o));
    }
    for (const delta of deltas) {
      const key = DEFAULT_CATALOGUE.seriesKey(delta.name, delta.labels);
      aggregates.set(key, applyDelta(aggregates.get(key), delta, DEFAULT_CATALOGUE));
    }
  }
  return { runs, jobs, aggregates, gauges: gaugesOf(runs.values(), jobs.values()) };
}

/**
 * The runs and jobs the pure core folds from the input (dedupe by delivery id): the
 * per-entity state a processor must hold and commit, which the oracle, speaking only of
 * served series, cannot give.
 */
export function expectedEntities(deliveries: readonly GeneratedDelivery[], now = 1): Record<string, unknown> {
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  for (const step of coreSteps(deliveries, now)) {
    if (step.kind === 'run') runs.set(step.key, step.state);
    else jobs.set(step.key, step.state);
  }
  return comparableEntities({ runs, jobs });
}

const sortedBy = <V>(m: Map<string, V>, f: (v: V) => unknown) =>
  Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, f(v)]));

/** Runs and jobs as comparable plain objects (sorted by key, processing times removed). */
export function comparableEntities(state: Pick<FoldedState, 'runs' | 'jobs'>): Record<string, unknown> {
  return {
    runs: sortedBy(state.runs, withoutProcessingTimes),
    jobs: sortedBy(state.jobs, withoutProcessingTimes),
  };
}

/** Comparable plain objects (maps sorted by key, processing times removed). */
export function comparable(state: FoldedState): Record<string, unknown> {
  return {
    ...comparableEntities(state),
    aggregates: sortedBy(state.aggregates, (v) => v),
    gauges: sortedBy(state.gauges, (v) => v),
  };
}
