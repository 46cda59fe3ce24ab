// The exporter's own metrics (runstream_exporter_), on its role registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetricsView } from './view.js';

export interface ExporterMetrics {
  invalid: Counter<'topic'>;
  lagRecords: Gauge<'topic'>;
  entities: Gauge<'kind'>;
  lastRecordAge: Gauge;
  caughtUp: Gauge;
}

export function createExporterMetrics(
  registry: Registry,
  view: MetricsView,
  freshness: () => number,
): ExporterMetrics {
  const registers = [registry];
  return {
    invalid: new Counter({
      name: 'runstream_exporter_invalid_records_total',
      help: 'Changelog records the exporter could not decode and skipped',
      labelNames: ['topic'],
      registers,
    }),
    lagRecords: new Gauge({
      name: 'runstream_exporter_view_lag_records',
      help: 'Changelog records not yet in the view (end offset minus position), per changelog',
      labelNames: ['topic'],
      registers,
    }),
    entities: new Gauge({
      name: 'runstream_exporter_view_entities',
      help: 'Series held in the view, by kind (gauge, counter, histogram)',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, count] of Object.entries(view.counts())) this.set({ kind }, count);
      },
    }),
    lastRecordAge: new Gauge({
      name: 'runstream_exporter_view_last_record_age_seconds',
      help: 'Seconds since the view last applied a changelog record (-1 before the first)',
      registers,
      collect() {
        this.set(freshness());
      },
    }),
    caughtUp: new Gauge({
      name: 'runstream_exporter_view_caught_up',
      help: '1 once the view has read the changelogs to the end offsets seen at start (github_actions_ families are served from then on), else 0',
      registers,
    }),
  };
}
