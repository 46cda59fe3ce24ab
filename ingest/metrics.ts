// Ingest's own metrics, on its role registry.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { IngestResult } from './webhook.js';

export interface IngestMetrics {
  deliveries: Counter<'event' | 'result'>;
  produceSeconds: Histogram<'outcome'>;
  count(event: string, result: IngestResult): void;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const deliveries = new Counter({
    name: 'runstream_ingest_deliveries_total',
    help: 'Webhook requests by event and result',
    labelNames: ['event', 'result'],
    registers: [registry],
  });
  const produceSeconds = new Histogram({
    name: 'runstream_ingest_produce_duration_seconds',
    help: 'Time from the produce call to the acks=all acknowledgement',
    labelNames: ['outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    deliveries,
    produceSeconds,
    count: (event, result) => deliveries.inc({ event, result }),
  };
}
