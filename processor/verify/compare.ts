// Compares a partition's live aggregates (the changelog at a consistent cut) with the ones
// recomputed from its deliveries (pure). Every key is compared the same way, whatever its
// family: each value carries its kind (counter, histogram, gauge), so a family added to the
// catalogue is compared without a line here. What Prometheus sees is compared: a counter's
// value, a histogram's buckets, count and sum, a gauge's value. A gauge at 0 is the same as
// no gauge (housekeeping drops emptied series after the retention window).
import type { AggregateValue, Labels } from '../../schemas/model.js';

export type DifferenceKind = 'different' | 'only_live' | 'only_recomputed';

export interface Difference {
  partition: number;
  kind: DifferenceKind;
  name: string;
  labels: Labels;
  /** The value as the exporter would serve it from this partition, or null when absent. */
  live: string | null;
  recomputed: string | null;
}

export interface Comparison {
  compared: number;
  equal: number;
  different: number;
  onlyLive: number;
  onlyRecomputed: number;
  /** Gauge series that differ where they hold an entity past its max age, which the processors may not have expired yet (not differences). */
  unsettled: number;
  /** The first differences, in series key order, at most `limit`. */
  differences: Difference[];
}

export const emptyComparison = (): Comparison => ({
  compared: 0,
  equal: 0,
  different: 0,
  onlyLive: 0,
  onlyRecomputed: 0,
  unsettled: 0,
  differences: [],
});

/** Histogram sums are added in the same order on both sides; the tolerance only absorbs float noise. */
const sameSum = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

export function sameValue(a: AggregateValue, b: AggregateValue): boolean {
  if (a.kind !== b.kind || a.name !== b.name) return false;
  if (a.kind === 'counter' && b.kind === 'counter') return a.value === b.value;
  if (a.kind === 'gauge' && b.kind === 'gauge') return a.value === b.value;
  if (a.kind === 'histogram' && b.kind === 'histogram') {
    return (
      a.count === b.count &&
      sameSum(a.sum, b.sum) &&
      a.bucketCounts.length === b.bucketCounts.length &&
      a.bucketCounts.every((n, i) => n === b.bucketCounts[i])
    );
  }
  return false;
}

/** A gauge at 0 reads as absent: an emptied series is kept at 0 until housekeeping drops it. */
const isEmptyGauge = (v: AggregateValue | undefined): boolean => v?.kind === 'gauge' && v.value === 0;

/** A value as one short phrase: `5`, `count=3 sum=12.5 buckets=[1,2,0]`. */
export function describeValue(value: AggregateValue | undefined): string | null {
  if (!value) return null;
  if (value.kind !== 'histogram') return String(value.value);
  return `count=${value.count} sum=${value.sum} buckets=[${value.bucketCounts.join(',')}]`;
}

/**
 * Adds one partition's comparison to `into`. `unsettled` names gauge series keys whose
 * value may differ because one of their entities is past its max age, which the
 * processors' housekeeping may or may not have acted on yet: they are counted apart.
 */
export function comparePartition(
  into: Comparison,
  partition: number,
  live: ReadonlyMap<string, AggregateValue>,
  recomputed: ReadonlyMap<string, AggregateValue>,
  unsettled: ReadonlySet<string>,
  limit: number,
): void {
  const keys = [...new Set([...live.keys(), ...recomputed.keys()])].sort();
  for (const key of keys) {
    const a = live.get(key);
    const b = recomputed.get(key);
    into.compared++;
    if ((a && b && sameValue(a, b)) || ((!a || isEmptyGauge(a)) && (!b || isEmptyGauge(b)))) {
      into.equal++;
      continue;
    }
    if (unsettled.has(key) && (a ?? b)!.kind === 'gauge') {
      into.unsettled++;
      continue;
    }
    const kind: DifferenceKind = !b ? 'only_live' : !a ? 'only_recomputed' : 'different';
    if (kind === 'only_live') into.onlyLive++;
    else if (kind === 'only_recomputed') into.onlyRecomputed++;
    else into.different++;
    if (into.differences.length < limit) {
      const shown = (a ?? b)!;
      into.differences.push({
        partition,
        kind,
        name: shown.name,
        labels: shown.labels,
        live: describeValue(a),
        recomputed: describeValue(b),
      });
    }
  }
}

/** Whether the comparison found anything that is not equal (unsettled gauges are not). */
export const hasDifferences = (c: Comparison): boolean => c.different + c.onlyLive + c.onlyRecomputed > 0;
