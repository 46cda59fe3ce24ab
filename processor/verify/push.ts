// The last verification as Prometheus text (pure), for a Pushgateway: a CronJob's run ends
// before any scrape, so it pushes its result and Prometheus scrapes the gateway
// (docs/verify.md, deploy/prometheus/rules.yml `RunstreamVerify*`).
import type { VerifyReport } from './report.js';

/** The Pushgateway grouping path of verify's metrics. */
export const PUSH_JOB = 'runstream_verify';

export function verifyMetricsText(report: VerifyReport): string {
  const s = report.series;
  const p = report.partitions;
  const gauge = (name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`;
  return [
    gauge(
      'runstream_verify_last_run_timestamp_seconds',
      'When the last completed runstream verify started (Unix seconds).',
      Math.floor(Date.parse(report.startedAt) / 1000),
    ),
    gauge(
      'runstream_verify_last_differences',
      'Series that differed (different, only live, only recomputed) in the last runstream verify.',
      s.different + s.onlyLive + s.onlyRecomputed,
    ),
    gauge(
      'runstream_verify_last_series_compared',
      'Series compared by the last runstream verify.',
      s.compared,
    ),
    gauge(
      'runstream_verify_last_partitions_not_compared',
      'Partitions the last runstream verify could not compare (history past retention, or no input position yet).',
      p.truncated.length + p.unpositioned.length,
    ),
    gauge(
      'runstream_verify_last_duration_seconds',
      'How long the last runstream verify took.',
      report.durationMs / 1000,
    ),
    gauge(
      'runstream_verify_last_deliveries_per_second',
      'Deliveries recomputed per second by the last runstream verify.',
      Math.round(report.deliveriesPerSecond),
    ),
  ].join('');
}

/** PUTs the metrics to `<gateway>/metrics/job/runstream_verify` (replacing the group's last push). */
export async function pushVerifyMetrics(gateway: string, report: VerifyReport): Promise<void> {
  const url = `${gateway.replace(/\/+$/, '')}/metrics/job/${PUSH_JOB}`;
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body: verifyMetricsText(report),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`Pushgateway ${url} answered ${response.status}`);
}
