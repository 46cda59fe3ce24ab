// The queued demand per runner pool as JSON, for autoscalers that read an HTTP endpoint
// (KEDA's metrics-api scaler; deploy/keda/). The numbers are the exporter's view of
// github_actions_pool_queued_jobs, exactly what /metrics serves; until the view has
// caught up there is no answer (503), so a scaler sees an error, never a partial 0.
import { METRIC_FAMILIES } from '../schemas/metrics.js';

export const POOL_QUEUED = METRIC_FAMILIES.poolQueued.name;

export interface DemandBody {
  /** Every pool with a series, and its queued jobs (0 for a pool whose jobs all left). */
  pools: Record<string, number>;
}

export interface PoolDemandBody {
  pool: string;
  queued: number;
}

/** The pools' demand from the served series of github_actions_pool_queued_jobs. */
export function demandBody(
  series: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: number }>,
): DemandBody {
  const pools: Record<string, number> = {};
  for (const { labels, value } of series) {
    const pool = labels.pool ?? '';
    pools[pool] = (pools[pool] ?? 0) + value;
  }
  return { pools };
}

/**
 * One pool's demand (`?pool=`), or undefined for a pool the exporter does not know: not
 * configured (configured ones are served at 0 when idle) and no job of it queued within
 * the retention window. That is a misspelt name far more often than a pool with no work.
 */
export function poolDemandBody(demand: DemandBody, pool: string): PoolDemandBody | undefined {
  const queued = demand.pools[pool];
  return queued === undefined ? undefined : { pool, queued };
}
