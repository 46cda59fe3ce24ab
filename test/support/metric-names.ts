// Every metric name runstream serves, read from the code that defines them: the
// exporter's github_actions_ families and scale-set gauges, and each role's own
// registry (built as the roles build it, without Kafka or a listening server).
// Rules and dashboards may query these and nothing else.
import type { Registry } from 'prom-client';
import { readExporterConfig } from '../../exporter/main.js';
import { readScaleSetPollerConfig, ScaleSetPoller } from '../../exporter/scale-sets.js';
import { ViewReader } from '../../exporter/view-reader.js';
import { createIngestMetrics } from '../../ingest/metrics.js';
import { createKafka } from '../../platform/kafka/index.js';
import { createLogger } from '../../platform/log.js';
import { createRoleRegistry } from '../../platform/metrics.js';
import { createProcessorMetrics } from '../../processor/metrics.js';
import { emptyComparison } from '../../processor/verify/compare.js';
import { verifyMetricsText } from '../../processor/verify/push.js';
import { METRIC_FAMILIES } from '../../schemas/metrics.js';

/** The sample names of a family of this type, as Prometheus stores them. */
function sampleNames(name: string, type: string): string[] {
  return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

async function namesIn(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap((m) => sampleNames(m.name, String(m.type)));
}

export async function metricNamesServed(): Promise<Set<string>> {
  const logger = createLogger('test', 'silent');
  const names = Object.values(METRIC_FAMILIES).flatMap((f) => sampleNames(f.name, f.type));

  const ingest = createRoleRegistry('ingest');
  createIngestMetrics(ingest);
  names.push(...(await namesIn(ingest)));

  const processor = createRoleRegistry('processor');
  createProcessorMetrics(processor);
  names.push(...(await namesIn(processor)));

  const exporter = createRoleRegistry('exporter');
  const config = readExporterConfig({});
  new ViewReader(
    createKafka({ brokers: config.brokers, clientId: 'names', logger }),
    config,
    logger,
    exporter,
  );
  const scaleSets = readScaleSetPollerConfig({
    RUNSTREAM_SCALE_SETS: '1',
    RUNSTREAM_GITHUB_CONFIG_URL: 'https://github.com/stand-in',
    RUNSTREAM_GITHUB_TOKEN: 'stand-in',
  })!;
  new ScaleSetPoller(scaleSets, exporter, logger);
  names.push(...(await namesIn(exporter)));

  // What `runstream verify` pushes to a Pushgateway.
  const pushed = verifyMetricsText({
    startedAt: new Date(0).toISOString(),
    durationMs: 0,
    deliveries: 0,
    deliveriesPerSecond: 0,
    phasesMs: { cut: 0, recompute: 0, compare: 0 },
    partitions: { total: 0, compared: 0, truncated: [], unpositioned: [] },
    cut: [],
    series: emptyComparison(),
    ok: true,
  });
  names.push(...[...pushed.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]!));
  return new Set(names);
}

/** Metric names an expression reads: runstream's own and the exporter's families. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:github_actions|runstream)_[a-z0-9_]+\b/g) ?? [])];
}

/** Recorded series an expression reads (`level:metric:operation` names). */
export function recordedNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b[a-z_]+:[a-z0-9_:]+\b/g) ?? [])];
}
