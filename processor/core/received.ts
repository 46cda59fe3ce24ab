// When webhooks last arrived, per repository: the gauge that tells "no demand" from "no
// webhooks" (docs/operations.md, "Webhooks stopped arriving").
//
// Its value is the greatest `receivedAt` (ingest's stamp, kept in the delivery record)
// of the repository's deliveries, so it is exact the way counters are: a maximum does
// not depend on the order deliveries are applied in, a record applied twice (a restore,
// a reprocessing) changes nothing, and every exporter pod, taking the greatest of the
// partitions' values, serves the same number. It never reads the processor's clock.
//
// Which deliveries count: every workflow_run and workflow_job delivery of an admitted
// repository whose payload parses (applied, duplicate or stale alike: each one proves
// that webhooks arrive). The repository is shown under the caps (core/caps.ts): as
// `(other)` when the run or job it is about overflowed, or, for a delivery about no
// entity the partition holds, when its label set is not admitted.
import { METRIC_FAMILIES, type MetricCatalogue, OVERFLOW_VALUE } from '../../schemas/metrics.js';
import type { AggregateValue, Labels } from '../../schemas/model.js';

export const LAST_RECEIVED = METRIC_FAMILIES.lastReceived.name;

/**
 * The series labels of a delivery of `repository`: `overflow` is its entity's cap decision
 * (the entity's state after the delivery), or, with no entity, whether its label set is
 * not admitted.
 */
export function receivedLabels(repository: string, overflow: boolean): Labels {
  return { repository: overflow ? OVERFLOW_VALUE : repository };
}

/** The series after a delivery received at `receivedAtMs` (epoch ms): the greater time. */
export function applyReceived(
  current: AggregateValue | undefined,
  labels: Labels,
  receivedAtMs: number,
  catalogue: MetricCatalogue,
): AggregateValue {
  const seconds = receivedAtMs / 1000;
  const before = current?.kind === 'gauge' ? current.value : 0;
  return {
    kind: 'gauge',
    name: LAST_RECEIVED,
    labels: catalogue.seriesLabels(LAST_RECEIVED, labels),
    // Always one member and never empty: the series stays (housekeeping drops only
    // emptied gauges), so a repository that stopped sending keeps its last time.
    members: 1,
    value: Math.max(before, seconds),
    emptySince: null,
  };
}
