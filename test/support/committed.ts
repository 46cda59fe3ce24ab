// What the processors committed, as the Prometheus samples an exporter must serve from
// it: the aggregates changelog folded (latest record per key, tombstones removing) and
// summed over partitions here, without the exporter's merge or view, so the committed
// side can be set against the oracle of test/support/oracle.ts (which shares no code
// with the core) by seriesDiff. Buckets are the contract's (schemas/metrics.ts).
import type { AttemptTruth } from '../../demo/stream.js';
import type { TopicNames } from '../../platform/topics.js';
import { decodeAggregate, isReservedKey, parseAggregateChangelogKey } from '../../schemas/changelog.js';
import { METRIC_FAMILIES } from '../../schemas/metrics.js';
import type { AggregateValue } from '../../schemas/model.js';
import { sampleKey } from './exposition.js';
import { servedGauges } from './gauges.js';
import { readTopic } from './kafka.js';
import { expectedSeries, seriesDiff } from './oracle.js';

const LES = [...METRIC_FAMILIES.jobDuration.buckets.map(String), '+Inf'];

/** The live aggregate values of every partition: latest record per changelog key. */
export async function committedAggregates(names: TopicNames): Promise<AggregateValue[]> {
  const latest = new Map<string, AggregateValue>();
  for (const r of await readTopic(names.aggregatesChangelog)) {
    const key = r.message.key!.toString();
    if (isReservedKey(parseAggregateChangelogKey(key).seriesKey)) continue; // caps', re-runs' and position records
    if (r.message.value) latest.set(key, decodeAggregate(r.message.value));
    else latest.delete(key);
  }
  return [...latest.values()];
}

/**
 * The `github_actions_` samples these values serve together (by sampleKey): counters
 * and histograms summed over partitions, histogram buckets made cumulative; gauges as
 * test/support/gauges.ts serves them (label sets with active entities only).
 */
export function seriesOf(values: Iterable<AggregateValue>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (name: string, labels: Record<string, string>, value: number) => {
    const key = sampleKey(name, labels);
    out.set(key, (out.get(key) ?? 0) + value);
  };
  const gauges: AggregateValue[] = [];
  for (const v of values) {
    if (!v.name.startsWith('github_actions_')) continue;
    if (v.kind === 'gauge') gauges.push(v);
    else if (v.kind === 'counter') add(v.name, v.labels, v.value);
    else {
      if (v.bucketCounts.length !== LES.length) {
        throw new Error(`${v.name} has ${v.bucketCounts.length} buckets, the contract ${LES.length}`);
      }
      let cumulative = 0;
      v.bucketCounts.forEach((n, i) => {
        cumulative += n;
        add(`${v.name}_bucket`, { ...v.labels, le: LES[i]! }, cumulative);
      });
      add(`${v.name}_sum`, v.labels, v.sum);
      add(`${v.name}_count`, v.labels, v.count);
    }
  }
  for (const [key, value] of servedGauges(gauges)) out.set(key, value);
  return out;
}

/** The samples the committed aggregates serve. */
export async function committedSeries(names: TopicNames): Promise<Map<string, number>> {
  return seriesOf(await committedAggregates(names));
}

/** The committed samples against the oracle's for the stream's truth: a line per difference. */
export async function diffFromOracle(names: TopicNames, truth: readonly AttemptTruth[]): Promise<string[]> {
  return seriesDiff(await committedSeries(names), expectedSeries(truth));
}
