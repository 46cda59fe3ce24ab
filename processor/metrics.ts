// The processor's own metrics (docs/design.md "Internal metrics"), on its role registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  deliveries: Counter<'result'>;
  transactions: Counter<'outcome'>;
  storeDuration: Histogram<'operation'>;
  storeErrors: Counter<'operation'>;
  restoreRecords: Counter<'topic'>;
  restoreDuration: Histogram<'mode'>;
  ownedPartitions: Gauge;
  readyPartitions: Gauge;
  lag: Gauge<'partition'>;
  expired: Counter<'kind' | 'reason'>;
  capped: Counter<'kind' | 'reason'>;
  taskFailures: Counter<'reason'>;
  inconsistencies: Counter<'kind'>;
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: 'runstream_processor_deliveries_total',
      help: 'Deliveries by result: applied, duplicate (delivery id seen before), stale (changed nothing), invalid, ignored (a repository left out by RUNSTREAM_REPOSITORIES_INCLUDE or _EXCLUDE)',
      labelNames: ['result'],
      registers,
    }),
    transactions: new Counter({
      name: 'runstream_processor_transactions_total',
      help: 'Kafka transactions by outcome: committed, aborted (never committed), unknown (the commit request failed; the next owner learns the outcome)',
      labelNames: ['outcome'],
      registers,
    }),
    storeDuration: new Histogram({
      name: 'runstream_processor_store_duration_seconds',
      help: 'State store time per chunk: apply (dedupe and state reads) and write (RocksDB batch)',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    storeErrors: new Counter({
      name: 'runstream_processor_store_errors_total',
      help: 'State store failures by operation',
      labelNames: ['operation'],
      registers,
    }),
    restoreRecords: new Counter({
      name: 'runstream_processor_restore_records_total',
      help: 'Changelog records read while restoring partitions',
      labelNames: ['topic'],
      registers,
    }),
    restoreDuration: new Histogram({
      name: 'runstream_processor_restore_duration_seconds',
      help: 'Time to open and restore one partition, by mode (checkpoint tail or full)',
      labelNames: ['mode'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    ownedPartitions: new Gauge({
      name: 'runstream_processor_owned_partitions',
      help: 'Input partitions assigned to this instance',
      registers,
    }),
    readyPartitions: new Gauge({
      name: 'runstream_processor_ready_partitions',
      help: 'Owned partitions whose state is restored',
      registers,
    }),
    lag: new Gauge({
      name: 'runstream_processor_lag',
      help: 'Deliveries not yet committed per owned input partition (end offset minus committed offset, every 15 s)',
      labelNames: ['partition'],
      registers,
    }),
    expired: new Counter({
      name: 'runstream_processor_entities_expired_total',
      help: 'Runs and jobs expired as stale (no terminal event within their max age)',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    capped: new Counter({
      name: 'runstream_processor_observations_capped_total',
      help: 'Run and job observations applied whose label values were served as (other) (reason overflow: their label set is over RUNSTREAM_METRIC_MAX_RUN_LABEL_SETS or _JOB_) or cut (reason truncated: over RUNSTREAM_METRIC_LABEL_MAX_LENGTH)',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    taskFailures: new Counter({
      name: 'runstream_processor_task_failures_total',
      help: 'Partition tasks given up, by reason (fenced, transaction, store, restore, open, input: a record of a newer runstream); a new task takes over',
      labelNames: ['reason'],
      registers,
    }),
    inconsistencies: new Counter({
      name: 'runstream_processor_inconsistencies_total',
      help: 'Contradictions between local state and Kafka the processor detected and recovered from by the safe path: checkpoint_ahead, restore_incomplete, transaction_outcome_unknown, input_gap, gauge_drift',
      labelNames: ['kind'],
      registers,
    }),
  };
}
