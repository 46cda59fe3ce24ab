// The exporter's materialized view: the latest aggregate of every series in every
// processor partition (counters, histograms and gauges alike), and the metric families
// rendered from them. Memory follows the number of series, not of runs and jobs.
// Records are applied one at a time; every series keeps its rendered lines until it
// changes, so a scrape joins strings.
import { decodeAggregate, isReservedKey, parseAggregateChangelogKey } from '../schemas/changelog.js';
import { AGGREGATE_FAMILIES, METRIC_FAMILIES, type MetricCatalogue } from '../schemas/metrics.js';
import type { AggregateValue } from '../schemas/model.js';
import { familyHeader, histogramLines, sampleLine } from './exposition.js';
import { mergeAggregates } from './merge.js';

const POOL_QUEUED = METRIC_FAMILIES.poolQueued.name;

interface Series {
  name: string;
  kind: AggregateValue['kind'];
  /** Latest value per processor partition. */
  perPartition: Map<number, AggregateValue>;
  rendered: string | undefined;
}

export class MetricsView {
  private readonly series = new Map<string, Series>();
  private cached: string | undefined;

  /** `catalogue` gives the histograms' buckets: the processors' (RUNSTREAM_METRIC_BUCKETS). */
  constructor(private readonly catalogue: MetricCatalogue) {}

  /** Applies one aggregates changelog record (null value = tombstone). Throws on undecodable bytes. */
  apply(changelogKey: string, value: Buffer | null): void {
    const { partition, seriesKey } = parseAggregateChangelogKey(changelogKey);
    // The processors' admission records under the caps (docs/metrics.md, "Caps"), re-run
    // records (flaky jobs) and input positions (docs/verify.md): no series.
    if (isReservedKey(seriesKey)) return;
    this.cached = undefined;
    if (!value) {
      const existing = this.series.get(seriesKey);
      existing?.perPartition.delete(partition);
      if (existing && existing.perPartition.size === 0) this.series.delete(seriesKey);
      else if (existing) existing.rendered = undefined;
      return;
    }
    const decoded = decodeAggregate(value);
    let series = this.series.get(seriesKey);
    if (!series) {
      series = { name: decoded.name, kind: decoded.kind, perPartition: new Map(), rendered: undefined };
      this.series.set(seriesKey, series);
    }
    series.perPartition.set(partition, decoded);
    series.rendered = undefined;
  }

  /** Series held, by kind. */
  counts(): Record<AggregateValue['kind'], number> {
    const counts = { gauge: 0, counter: 0, histogram: 0 };
    for (const series of this.series.values()) counts[series.kind] += 1;
    return counts;
  }

  /**
   * The served value of every series of a gauge or counter family, its partitions combined
   * (with the configured pools' zero series: unservedPools).
   */
  valuesOf(name: string): Array<{ labels: Readonly<Record<string, string>>; value: number }> {
    const out: Array<{ labels: Readonly<Record<string, string>>; value: number }> = [];
    for (const series of this.series.values()) {
      if (series.name !== name) continue;
      const [total] = mergeAggregates(series.perPartition.values());
      if (total && total.kind !== 'histogram') out.push({ labels: total.labels, value: total.value });
    }
    if (name === POOL_QUEUED)
      for (const pool of this.unservedPools()) out.push({ labels: { pool }, value: 0 });
    return out;
  }

  /**
   * Configured pools (RUNSTREAM_RUNNER_POOLS) with no series in the view: none of their
   * jobs was queued within the retention window. Served at 0, so a pool that exists is
   * never absent and an absent pool is a name the scaler got wrong (docs/autoscaling.md).
   */
  private unservedPools(): string[] {
    const pools = this.catalogue.poolNames;
    if (pools.length === 0) return [];
    const seen = new Set<string>();
    for (const series of this.series.values()) {
      if (series.name !== POOL_QUEUED) continue;
      const [any] = series.perPartition.values();
      if (any) seen.add(any.labels.pool ?? '');
    }
    return pools.filter((pool) => !seen.has(pool));
  }

  /** The metric families in Prometheus text format; cached until the next change. */
  render(): string {
    if (this.cached !== undefined) return this.cached;
    const byFamily = new Map<string, string[]>();
    for (const series of this.series.values()) {
      series.rendered ??= renderSeries(series, this.catalogue);
      const lines = byFamily.get(series.name) ?? [];
      lines.push(series.rendered);
      byFamily.set(series.name, lines);
    }
    for (const pool of this.unservedPools()) {
      const lines = byFamily.get(POOL_QUEUED) ?? [];
      lines.push(sampleLine(POOL_QUEUED, { pool }, 0));
      byFamily.set(POOL_QUEUED, lines);
    }
    const parts: string[] = [];
    for (const family of AGGREGATE_FAMILIES) {
      parts.push(familyHeader(family.name, family.type, family.help));
      for (const lines of byFamily.get(family.name) ?? []) parts.push(lines);
    }
    this.cached = parts.join('');
    return this.cached;
  }
}

function renderSeries(series: Series, catalogue: MetricCatalogue): string {
  const [total] = mergeAggregates(series.perPartition.values());
  if (!total) return '';
  return total.kind === 'histogram'
    ? histogramLines(
        total.name,
        total.labels,
        catalogue.bucketsOf(total.name),
        total.bucketCounts,
        total.sum,
        total.count,
      )
    : sampleLine(total.name, total.labels, total.value);
}
