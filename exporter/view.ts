// The exporter's materialized view: the latest aggregate of every series in every
// processor partition (counters, histograms and gauges alike), and the metric families
// rendered from them. Memory follows the number of series, not of runs and jobs.
// Records are applied one at a time; every series keeps its rendered lines until it
// changes, so a scrape joins strings.
import { decodeAggregate, isReservedKey, parseAggregateChangelogKey } from '../schemas/changelog.js';
import { AGGREGATE_FAMILIES, type MetricCatalogue } from '../schemas/metrics.js';
import type { AggregateValue } from '../schemas/model.js';
import { familyHeader, histogramLines, sampleLine } from './exposition.js';
import { mergeAggregates } from './merge.js';

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
    // The processors' admission records under the caps (docs/metrics.md, "Caps") and input
    // positions (docs/verify.md): no series.
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
