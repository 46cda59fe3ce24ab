// The caps on label sets through the real roles, on a hostile stream (workflow names and
// runs-on labels with quotes, backslashes, newlines, unicode and 10 kB, more distinct ones
// than the caps): a processor restored in full from the changelogs decides exactly as
// one that never stopped, and processors and exporter serve on /metrics the totals an
// oracle computes from the stream's truth without caps, with bounded, well-formed labels.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptTruth, GeneratedDelivery } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { RoleHandle } from '../../platform/role.js';
import type { TopicNames } from '../../platform/topics.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { recountGauges } from '../../processor/recount.js';
import { RocksStore } from '../../processor/store.js';
import {
  admissionCountKey,
  decodeAdmission,
  isAdmissionKey,
  parseAggregateChangelogKey,
} from '../../schemas/changelog.js';
import { readMetricCatalogue } from '../../schemas/metric-settings.js';
import { OVERFLOW_VALUE } from '../../schemas/metrics.js';
import { partitionForKey } from '../../schemas/partitioner.js';
import { committedSeries } from '../support/committed.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { hostileScenario } from '../support/hostile.js';
import {
  brokers,
  createTestTopics,
  readTopic,
  type TestTopics,
  testKafka,
  testLogger,
} from '../support/kafka.js';
import { expectedAdmissions, expectedSeries, servedLabelValue } from '../support/oracle.js';
import { publishDeliveries, recentStartMs, waitForGroup } from '../support/publish.js';
import { comparable, foldChangelogs } from '../support/state.js';
import { sampleTotals, totalsDiff } from '../support/totals.js';

const MAX_LENGTH = 40;
const CAPS = { run: 4, job: 6 };
/** Room enough that some 10 kB names are admitted (and cut), too little for all. */
const WIDE = { run: 8, job: 30 };

function env(topics: TestTopics, stateDir: string, caps = CAPS): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers().join(','),
    RUNSTREAM_TOPIC_PREFIX: topics.prefix,
    RUNSTREAM_PARTITIONS: String(topics.partitions),
    RUNSTREAM_STATE_DIR: stateDir,
    RUNSTREAM_PROCESSOR_PORT: '0',
    RUNSTREAM_EXPORTER_PORT: '0',
    RUNSTREAM_HOST: '127.0.0.1',
    RUNSTREAM_HOUSEKEEPING_INTERVAL: '1h',
    RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '6s',
    RUNSTREAM_METRIC_MAX_RUN_LABEL_SETS: String(caps.run),
    RUNSTREAM_METRIC_MAX_JOB_LABEL_SETS: String(caps.job),
    RUNSTREAM_METRIC_LABEL_MAX_LENGTH: String(MAX_LENGTH),
  };
}

/**
 * The run and job label sets admitted, by `<partition>|<kind>|<label set>`, with their
 * ordinals, as the oracle's expectedAdmissions names them (flaky ones left out).
 */
async function admittedSets(names: TopicNames): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await readTopic(names.aggregatesChangelog)) {
    const { partition, seriesKey } = parseAggregateChangelogKey(r.message.key!.toString());
    const set = /^#admitted\|(run|job)\|(.*)$/s.exec(seriesKey);
    if (set && r.message.value) out.set(`${partition}|${set[1]}|${set[2]}`, decodeAdmission(r.message.value));
  }
  return out;
}

/** The admission records in the aggregates changelog, latest per key. */
async function admissions(names: TopicNames): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await readTopic(names.aggregatesChangelog)) {
    const { seriesKey } = parseAggregateChangelogKey(r.message.key!.toString());
    if (isAdmissionKey(seriesKey) && r.message.value) out.set(seriesKey, decodeAdmission(r.message.value));
  }
  return out;
}

describe('caps on label sets through the real roles', () => {
  const handles: RoleHandle[] = [];
  const dirs: string[] = [];
  const stateDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runstream-caps-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function process(topics: TestTopics, dir: string, deliveries: GeneratedDelivery[]): Promise<void> {
    await publishDeliveries(testKafka(), topics.names.deliveries, deliveries);
    const processor = await startProcessor(readProcessorConfig(env(topics, dir)), testLogger);
    handles.push(processor);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await handles.pop()!.close();
  }

  it('admits after a full restore exactly what a processor that never stopped admits', async () => {
    // Dated from now (and housekeeping pinned at 1 h): nothing expires while the test runs.
    const first = hostileScenario({
      startMs: recentStartMs(),
      seed: 31,
      runs: 14,
      variety: 7,
      firstRunId: 100_000,
      unfinishedRate: 0.4,
    });
    const second = hostileScenario({
      startMs: recentStartMs(),
      seed: 32,
      runs: 14,
      variety: 9,
      firstRunId: 200_000,
      unfinishedRate: 0.4,
    });

    // Restored: the first half, the state directory wiped, then the second half.
    const restored = await createTestTopics(1);
    const dir = await stateDir();
    await process(restored, dir, first.deliveries);
    const before = await admissions(restored.names);
    expect(before.get(admissionCountKey('run'))).toBe(CAPS.run);
    expect(before.get(admissionCountKey('job'))).toBe(CAPS.job);
    // Which label sets, and in which order: the oracle's, from the caps' definition.
    const admitted = expectedAdmissions(first.deliveries, {
      partitionOf: () => 0,
      caps: CAPS,
      maxLength: MAX_LENGTH,
    });
    expect(await admittedSets(restored.names)).toEqual(admitted);
    await rm(dir, { recursive: true, force: true });
    await process(restored, dir, second.deliveries);

    // The reference: the same input, one processor, never stopped.
    const reference = await createTestTopics(1);
    await process(reference, await stateDir(), [...first.deliveries, ...second.deliveries]);

    // Full caps never reopen: nothing admitted after the restore, and every decision the same.
    expect(await admittedSets(restored.names)).toEqual(admitted);
    expect(await admissions(restored.names)).toEqual(before);
    expect(await admissions(reference.names)).toEqual(before);
    const folded = await foldChangelogs(restored.names);
    expect(comparable(folded)).toEqual(comparable(await foldChangelogs(reference.names)));
    expect([...folded.aggregates.keys()].some((key) => key.includes(OVERFLOW_VALUE))).toBe(true);
    expect([...folded.jobs.values()].some((job) => job.overflow)).toBe(true);

    // Every family's total (counters, histograms, gauges, the oldest queued job) as the
    // oracle's from the stream's truth without caps (caps only relabel); the restored
    // gauges are what its states say.
    const want = sampleTotals(expectedSeries([...first.truth, ...second.truth]));
    expect(totalsDiff(sampleTotals(await committedSeries(restored.names)), want)).toEqual([]);
    const store = await RocksStore.open(join(dir, `${restored.prefix}processor`, 'partition-0'));
    try {
      const recount = await recountGauges(store, Date.now(), readMetricCatalogue(env(restored, dir)));
      expect(recount.corrected).toBe(0);
    } finally {
      await store.close();
    }
  }, 240_000);

  it('serves hostile names cut and escaped, overflow merged across partitions, and every total', async () => {
    const topics = await createTestTopics(2);
    const { deliveries, truth } = hostileScenario({
      seed: 33,
      runs: 30,
      variety: 12,
      unfinishedRate: 0.3,
      startMs: recentStartMs(),
    });
    const settings = env(topics, await stateDir(), WIDE);
    await publishDeliveries(testKafka(), topics.names.deliveries, deliveries);
    const processor = await startProcessor(readProcessorConfig(settings), testLogger);
    handles.push(processor);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    // Each partition admitted the first label sets of its deliveries, as the oracle says.
    const admitted = expectedAdmissions(deliveries, {
      partitionOf: (runId) => partitionForKey(String(runId), topics.partitions),
      caps: WIDE,
      maxLength: MAX_LENGTH,
    });
    expect(await admittedSets(topics.names)).toEqual(admitted);
    const exporter = await startExporter(readExporterConfig(settings), testLogger);
    handles.push(exporter);
    await exporter.exporter.waitUntilCaughtUp(60_000);
    const samples = parseExposition(await scrape(exporter.port)).filter((s) =>
      s.name.startsWith('github_actions_'),
    );

    // Totals: the oracle's, from the stream's truth without caps.
    expect(
      totalsDiff(sampleTotals(samplesByKey(samples, 'github_actions_')), sampleTotals(expectedSeries(truth))),
    ).toEqual([]);

    // Every served workflow and labels value: (other), a name as sent, or its head cut to
    // the limit and followed by the SHA-256 of the whole (the oracle's rule, not runstream's code).
    const sent = {
      workflow: new Set(truth.map((a: AttemptTruth) => a.workflow)),
      labels: new Set(truth.flatMap((a) => a.jobs.map((j) => [...j.labels].sort().join(',')))),
    };
    const asServed = (value: string): string => servedLabelValue(value, MAX_LENGTH);
    for (const label of ['workflow', 'labels'] as const) {
      const allowed = new Set([OVERFLOW_VALUE, ...[...sent[label]].map(asServed)]);
      const values = new Set(samples.map((s) => s.labels[label]).filter((v): v is string => v !== undefined));
      expect([...values].filter((v) => !allowed.has(v))).toEqual([]);
      expect(
        [...values].some((v) => v.includes('…(truncated ')),
        label,
      ).toBe(true);
      expect([...values].some((v) => v.includes('"') || v.includes('\\') || v.includes('\n'))).toBe(true);
    }
    expect(samples.some((s) => s.labels.workflow === OVERFLOW_VALUE)).toBe(true);
    // Both partitions overflowed: the (other) series served are their sums (and the oldest).
    const overflowing = new Set(
      (await readTopic(topics.names.aggregatesChangelog))
        .map((r) => parseAggregateChangelogKey(r.message.key!.toString()))
        .filter((k) => !isAdmissionKey(k.seriesKey) && k.seriesKey.includes(JSON.stringify(OVERFLOW_VALUE)))
        .map((k) => k.partition),
    );
    expect(overflowing).toEqual(new Set([0, 1]));

    // Bounded: per family at most partitions x cap label sets besides (other).
    const sets = new Map<string, Set<string>>();
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      const capped = ['repository', 'workflow', 'runner_group', 'labels'].map((l) => s.labels[l]);
      if (capped.includes(OVERFLOW_VALUE)) continue;
      sets.set(family, (sets.get(family) ?? new Set()).add(JSON.stringify(capped)));
    }
    for (const [family, seen] of sets) {
      const cap = family.includes('workflow_run') ? WIDE.run : WIDE.job;
      expect(seen.size, family).toBeLessThanOrEqual(topics.partitions * cap);
    }

    // The processor counted what it capped and cut.
    const own = parseExposition(await scrape(processor.port)).filter(
      (s) => s.name === 'runstream_processor_observations_capped_total',
    );
    expect(own.find((s) => s.labels.reason === 'overflow')?.value ?? 0).toBeGreaterThan(0);
    expect(own.find((s) => s.labels.reason === 'truncated')?.value ?? 0).toBeGreaterThan(0);
  }, 180_000);
});
