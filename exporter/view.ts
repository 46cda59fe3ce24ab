// The exporter's materialized view: the latest run, job and aggregate records of
// every changelog partition, and the metric families computed from them. Changes are
// applied one record at a time; gauges are maintained incrementally (GaugeIndex) and
// every aggregate series keeps its rendered lines, so a scrape joins strings.
import { decodeAggregate, decodeJob, decodeRun, parseAggregateChangelogKey } from '../schemas/changelog.js';
import { AGGREGATE_FAMILIES, bucketsOf, METRIC_FAMILIES } from '../schemas/metrics.js';
import type { AggregateValue, JobState, Labels, RunState } from '../schemas/model.js';
import { familyHeader, formatValue, histogramLines, sampleLine } from './exposition.js';
import { GaugeIndex } from './gauges.js';
import { mergeAggregates } from './merge.js';

/** The changelogs the view reads (the dedupe changelog is the processors' own). */
export const VIEW_KINDS = ['runs', 'jobs', 'aggregates'] as const;
export type ViewKind = (typeof VIEW_KINDS)[number];

interface AggregateSeries {
  name: string;
  /** Latest cumulative value per processor partition. */
  perPartition: Map<number, AggregateValue>;
  rendered: string | undefined;
}

export class MetricsView {
  private readonly runs = new Map<string, RunState>();
  private readonly jobs = new Map<string, JobState>();
  private readonly gauges: GaugeIndex;
  private readonly series = new Map<string, AggregateSeries>();
  private cached: string | undefined;
  private cachedAt = 0;
  /** `name{labels} ` per gauge series; the index hands out the same labels object each time. */
  private readonly gaugePrefixes = new WeakMap<Labels, string>();

  /** @param gaugeRetentionMs how long a gauge label set with nothing active is served at 0 */
  constructor(
    gaugeRetentionMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.gauges = new GaugeIndex(gaugeRetentionMs, now);
  }

  /** Applies one changelog record (null value = tombstone). Throws on undecodable bytes. */
  apply(kind: ViewKind, key: string, value: Buffer | null): void {
    switch (kind) {
      case 'runs': {
        const next = value ? decodeRun(value) : undefined;
        this.gauges.upsertRun(this.runs.get(key), next);
        if (next) this.runs.set(key, next);
        else this.runs.delete(key);
        break;
      }
      case 'jobs': {
        const next = value ? decodeJob(value) : undefined;
        this.gauges.upsertJob(this.jobs.get(key), next);
        if (next) this.jobs.set(key, next);
        else this.jobs.delete(key);
        break;
      }
      case 'aggregates':
        this.applyAggregate(key, value);
        break;
    }
    this.cached = undefined;
  }

  private applyAggregate(changelogKey: string, value: Buffer | null): void {
    const { partition, seriesKey } = parseAggregateChangelogKey(changelogKey);
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
      series = { name: decoded.name, perPartition: new Map(), rendered: undefined };
      this.series.set(seriesKey, series);
    }
    series.perPartition.set(partition, decoded);
    series.rendered = undefined;
  }

  private gaugeLine(name: string, labels: Labels, value: number): string {
    let prefix = this.gaugePrefixes.get(labels);
    if (prefix === undefined) {
      prefix = sampleLine(name, labels, 0).slice(0, -2);
      this.gaugePrefixes.set(labels, prefix);
    }
    return `${prefix}${formatValue(value)}\n`;
  }

  counts(): { runs: number; jobs: number; aggregates: number } {
    return { runs: this.runs.size, jobs: this.jobs.size, aggregates: this.series.size };
  }

  /** The metric families in Prometheus text format; cached until the next change. */
  render(): string {
    // Re-rendered on change, and at least every few seconds for gauge retention.
    if (this.cached !== undefined && this.now() - this.cachedAt < 5000) return this.cached;
    const parts: string[] = [];
    const snapshot = this.gauges.snapshot();
    for (const [family, samples] of [
      [METRIC_FAMILIES.runs, snapshot.runs],
      [METRIC_FAMILIES.jobs, snapshot.jobs],
      [METRIC_FAMILIES.oldestQueued, snapshot.oldestQueued],
    ] as const) {
      parts.push(familyHeader(family.name, 'gauge', family.help));
      for (const s of samples) parts.push(this.gaugeLine(family.name, s.labels, s.value));
    }

    const byFamily = new Map<string, string[]>();
    for (const series of this.series.values()) {
      series.rendered ??= renderSeries(series);
      const lines = byFamily.get(series.name) ?? [];
      lines.push(series.rendered);
      byFamily.set(series.name, lines);
    }
    for (const family of AGGREGATE_FAMILIES) {
      parts.push(familyHeader(family.name, family.type, family.help));
      for (const lines of byFamily.get(family.name) ?? []) parts.push(lines);
    }
    this.cached = parts.join('');
    this.cachedAt = this.now();
    return this.cached;
  }
}

function renderSeries(series: AggregateSeries): string {
  const [total] = mergeAggregates([...series.perPartition.values()]);
  if (!total) return '';
  return total.kind === 'counter'
    ? sampleLine(total.name, total.labels, total.value)
    : histogramLines(
        total.name,
        total.labels,
        bucketsOf(total.name),
        total.bucketCounts,
        total.sum,
        total.count,
      );
}
