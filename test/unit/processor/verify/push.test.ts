import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { emptyComparison } from '../../../../processor/verify/compare.js';
import { pushVerifyMetrics, verifyMetricsText } from '../../../../processor/verify/push.js';
import { formatReport, type VerifyReport } from '../../../../processor/verify/report.js';

const report = (over: Partial<VerifyReport['series']> = {}): VerifyReport => ({
  startedAt: '2026-12-06T03:17:00.000Z',
  durationMs: 2500,
  deliveries: 1000,
  deliveriesPerSecond: 400,
  phasesMs: { cut: 500, recompute: 1900, compare: 100 },
  partitions: { total: 3, compared: 2, truncated: [1], unpositioned: [] },
  cut: [],
  series: { ...emptyComparison(), compared: 10, equal: 8, different: 1, onlyLive: 1, ...over },
  ok: false,
});

describe('verify result', () => {
  it('renders the last result as Prometheus gauges', () => {
    const text = verifyMetricsText(report());
    expect(text).toContain('runstream_verify_last_run_timestamp_seconds 1796527020\n');
    expect(text).toContain('runstream_verify_last_differences 2\n');
    expect(text).toContain('runstream_verify_last_series_compared 10\n');
    expect(text).toContain('runstream_verify_last_partitions_not_compared 1\n');
    expect(text).toContain('runstream_verify_last_duration_seconds 2.5\n');
  });

  it('PUTs it to the Pushgateway under job runstream_verify, and fails on a refusal', async () => {
    const seen: Array<{ method?: string; url?: string; body: string }> = [];
    let status = 200;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      await pushVerifyMetrics(url, report());
      expect(seen).toEqual([
        { method: 'PUT', url: '/metrics/job/runstream_verify', body: verifyMetricsText(report()) },
      ]);
      status = 500;
      await expect(pushVerifyMetrics(url, report())).rejects.toThrow(/answered 500/);
    } finally {
      server.close();
    }
  });

  it('says what was not compared and lists each difference with both values', () => {
    const r = report({
      differences: [
        {
          partition: 2,
          kind: 'different',
          name: 'github_actions_jobs_completed_total',
          labels: { repository: 'o/r' },
          live: '5',
          recomputed: '4',
        },
      ],
    });
    const text = formatReport(r);
    expect(text).toMatch(
      /^DIFFERENCES: 10 series compared in 2 of 3 partitions: 8 equal, 1 different, 1 only live/,
    );
    expect(text).toContain('not compared: partitions 1 (their oldest deliveries are past');
    expect(text).toContain(
      'different       partition 2 github_actions_jobs_completed_total{repository="o/r"} live=5 recomputed=4',
    );
    expect(text).toContain('... and 1 more');
  });
});
