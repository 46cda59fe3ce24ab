// What `runstream verify` found, as data (the --json output) and as text for a terminal (pure).
import { type Comparison, hasDifferences } from './compare.js';

export interface PartitionCut {
  partition: number;
  /** The next deliveries offset the live aggregates reflect (the cut), as decimal text. */
  position: string;
}

export interface VerifyReport {
  /** When the run started, ISO 8601. */
  startedAt: string;
  durationMs: number;
  /** Deliveries recomputed, and how many per second. */
  deliveries: number;
  deliveriesPerSecond: number;
  /** Where the time went: reading the live cut, recomputing, comparing (expiry included). */
  phasesMs: { cut: number; recompute: number; compare: number };
  partitions: {
    total: number;
    compared: number;
    /** Partitions whose oldest deliveries were deleted by retention: their history is out of reach. */
    truncated: number[];
    /** Partitions whose aggregates carry no input position yet (no transaction of a processor that writes one). */
    unpositioned: number[];
  };
  cut: PartitionCut[];
  series: Comparison;
  /** No difference in any partition compared. */
  ok: boolean;
}

export function isClean(report: Pick<VerifyReport, 'series'>): boolean {
  return !hasDifferences(report.series);
}

const formatLabels = (labels: Readonly<Record<string, string>>): string =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;

/** The summary, then the first differences with both values, one a line. */
export function formatReport(report: VerifyReport): string {
  const s = report.series;
  const p = report.partitions;
  const lines = [
    `${report.ok ? 'ok' : 'DIFFERENCES'}: ${s.compared} series compared in ${p.compared} of ${p.total} partitions: ${s.equal} equal, ${s.different} different, ${s.onlyLive} only live, ${s.onlyRecomputed} only recomputed` +
      (s.unsettled > 0
        ? `, ${s.unsettled} gauges unsettled (they hold an entity past its max age, which the processors may not have expired yet)`
        : ''),
    `recomputed ${report.deliveries} deliveries in ${(report.durationMs / 1000).toFixed(1)} s (${Math.round(report.deliveriesPerSecond)}/s)`,
  ];
  if (p.truncated.length > 0) {
    lines.push(
      `not compared: partitions ${p.truncated.join(',')} (their oldest deliveries are past the deliveries topic's retention)`,
    );
  }
  if (p.unpositioned.length > 0) {
    lines.push(
      `not compared: partitions ${p.unpositioned.join(',')} (no input position in their aggregates yet: no processor of this version has committed there)`,
    );
  }
  for (const d of s.differences) {
    lines.push(
      `  ${d.kind.padEnd(15)} partition ${d.partition} ${d.name}${formatLabels(d.labels)} live=${d.live ?? 'absent'} recomputed=${d.recomputed ?? 'absent'}`,
    );
  }
  const shown = s.differences.length;
  const total = s.different + s.onlyLive + s.onlyRecomputed;
  if (total > shown) lines.push(`  ... and ${total - shown} more`);
  return `${lines.join('\n')}\n`;
}
