// Every github_actions_ family's total, from Prometheus samples (`sampleKey` form, as the
// oracle of test/support/oracle.ts makes them and as an exporter serves them): counters
// and count gauges add up, histograms add their cumulative buckets, sums and counts, and
// the oldest-queued gauge is the oldest non-zero, the last-received time the latest.
// Caps may relabel series, never these.
import { METRIC_FAMILIES } from '../../schemas/metrics.js';

const BUCKETS = METRIC_FAMILIES.jobDuration.buckets;
const MIN = METRIC_FAMILIES.oldestQueued.name;
/** The last-received time: the latest of its series, wherever caps put them. */
const MAX = METRIC_FAMILIES.lastReceived.name;
const HISTOGRAMS = new Set<string>([
  METRIC_FAMILIES.queueDuration.name,
  METRIC_FAMILIES.jobDuration.name,
  METRIC_FAMILIES.runDuration.name,
]);

/** Per family: counters and gauges one number; histograms cumulative buckets, then sum and count. */
export type Totals = Map<string, number[]>;

export function addTo(totals: Totals, name: string, numbers: number[]): void {
  const seen = totals.get(name);
  if (name === MIN) {
    const [at] = numbers;
    if (at! > 0) totals.set(name, [Math.min(seen?.[0] ?? Infinity, at!)]);
    return;
  }
  if (name === MAX) {
    totals.set(name, [Math.max(seen?.[0] ?? -Infinity, numbers[0]!)]);
    return;
  }
  totals.set(name, seen ? seen.map((n, i) => n + numbers[i]!) : numbers);
}

/** Samples (by sampleKey) folded into per-family totals, with the default buckets. */
export function sampleTotals(series: ReadonlyMap<string, number>): Totals {
  const totals: Totals = new Map();
  const les = [...BUCKETS.map(String), '+Inf'];
  for (const [key, value] of series) {
    const sample = key.slice(0, key.indexOf('{'));
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(sample);
    if (histogram && HISTOGRAMS.has(histogram[1]!)) {
      const numbers = new Array(les.length + 2).fill(0);
      // A JSON-quoted value never holds `le="` unescaped, so this finds the le label.
      if (histogram[2] === 'bucket') numbers[les.indexOf(/[{,]le="([^"]*)"/.exec(key)![1]!)] = value;
      else numbers[histogram[2] === 'sum' ? les.length : les.length + 1] = value;
      addTo(totals, histogram[1]!, numbers);
    } else if (sample.startsWith('github_actions_') || sample === MAX) addTo(totals, sample, [value]);
  }
  return totals;
}

/** The families whose totals differ, one line each (sums compared to 1e-6). */
export function totalsDiff(got: Totals, want: Totals): string[] {
  const diffs: string[] = [];
  for (const family of new Set([...got.keys(), ...want.keys()])) {
    const a = got.get(family) ?? [];
    const b = want.get(family) ?? [];
    const zero = (n: number[]) => n.every((x) => x === 0);
    if (a.length === 0 && zero(b)) continue;
    if (b.length === 0 && zero(a)) continue;
    if (a.length !== b.length || a.some((n, i) => Math.abs(n - b[i]!) > 1e-6)) {
      diffs.push(`${family}: ${a.join(' ')} vs ${b.join(' ')}`);
    }
  }
  return diffs;
}
