// How many partitions a processor restored, in which mode, and how many changelog
// records it read: from its own metrics, as an operator would see them.
import type { ProcessorMetrics } from '../../processor/metrics.js';

export interface RestoreCounts {
  checkpoint: number;
  full: number;
  records: number;
}

export async function restoreCounts(metrics: ProcessorMetrics): Promise<RestoreCounts> {
  const counts: RestoreCounts = { checkpoint: 0, full: 0, records: 0 };
  for (const v of (await metrics.restoreDuration.get()).values) {
    const mode = v.labels.mode;
    if (v.metricName?.endsWith('_count') && (mode === 'checkpoint' || mode === 'full'))
      counts[mode] += v.value;
  }
  for (const v of (await metrics.restoreRecords.get()).values) counts.records += v.value;
  return counts;
}
