// The exporter's materialized view: the latest run, job and aggregate records of
// every changelog partition, and the metric families computed from them. Changes are
// applied one record at a time; gauges are maintained incrementally (GaugeIndex) and
// every aggregate series keeps its rendered lines, so a scrape joins strings.
import { decodeAggregate, decodeJob, decodeRun } from '../processor/changelog.js';
import { mergeAggregates } from '../processor/core/aggregates.js';
import { GaugeIndex } from '../processor/core/gauges.js';
import type { AggregateValue, JobState, RunState } from '../processor/core/types.js';
import { familyHeader, histogramLines, sampleLine } from './exposition.js';
import { AGGREGATE_FAMILIES, FAMILIES } from './families.js';

export type ViewKind = 'runs' | 'jobs' | 'aggregates';

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
  /** Changelog key `<partition>|<metric key>` → series key. */
  private readonly aggregateKeys = new Map<string, string>();
  private readonly series = new Map<string, AggregateSeries>();
  private cached: string | undefined;
  private cachedAt = 0;

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
    const bar = changelogKey.indexOf('|');
    const partition = Number(changelogKey.slice(0, bar));
    if (bar < 1 || !Number.isInteger(partition))
      throw new Error(`aggregate key ${changelogKey} has no partition`);
    const seriesKey = changelogKey.slice(bar + 1);
    if (!value) {
      const existing = this.series.get(seriesKey);
      existing?.perPartition.delete(partition);
      if (existing && existing.perPartition.size === 0) this.series.delete(seriesKey);
      else if (existing) existing.rendered = undefined;
      this.aggregateKeys.delete(changelogKey);
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
    this.aggregateKeys.set(changelogKey, seriesKey);
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
    parts.push(familyHeader(FAMILIES.runs.name, 'gauge', FAMILIES.runs.help));
    for (const s of snapshot.runs) parts.push(sampleLine(FAMILIES.runs.name, s.labels, s.value));
    parts.push(familyHeader(FAMILIES.jobs.name, 'gauge', FAMILIES.jobs.help));
    for (const s of snapshot.jobs) parts.push(sampleLine(FAMILIES.jobs.name, s.labels, s.value));
    parts.push(familyHeader(FAMILIES.oldestQueued.name, 'gauge', FAMILIES.oldestQueued.help));
    for (const s of snapshot.oldestQueued)
      parts.push(sampleLine(FAMILIES.oldestQueued.name, s.labels, s.value));

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
    : histogramLines(total.name, total.labels, total.bucketCounts, total.sum, total.count);
}
