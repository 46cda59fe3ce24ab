// Ingest's own metrics, on its role registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IngestResult } from './webhook.js';

/** Why the server closed a connection itself (runstream_ingest_connections_closed_total). */
export type CloseReason =
  | 'headers_timeout'
  | 'request_timeout'
  | 'over_budget'
  | 'too_large'
  | 'max_connections'
  | 'client_error';

export interface IngestMetrics {
  deliveries: Counter<'event' | 'result'>;
  produceSeconds: Histogram<'outcome'>;
  connectionsClosed: Counter<'reason'>;
  unverifiedBodyBytes: Gauge;
  count(event: string, result: IngestResult): void;
  closed(reason: CloseReason): void;
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
  const connectionsClosed = new Counter({
    name: 'runstream_ingest_connections_closed_total',
    help: 'Connections the server closed itself, by reason (timeouts, body budget, connection cap, bad HTTP)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const unverifiedBodyBytes = new Gauge({
    name: 'runstream_ingest_unverified_body_bytes',
    help: 'Bytes of request bodies held before their signature is checked (RUNSTREAM_INGEST_BODY_BUDGET bounds it)',
    registers: [registry],
  });
  return {
    deliveries,
    produceSeconds,
    connectionsClosed,
    unverifiedBodyBytes,
    count: (event, result) => deliveries.inc({ event, result }),
    closed: (reason) => connectionsClosed.inc({ reason }),
  };
}
