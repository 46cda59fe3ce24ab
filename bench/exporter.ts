// Exporter benchmark: scrape latency (render + gzip level 1, one change between scrapes, as
// under live traffic) and resident memory at 10k and 100k series; catch-up time and peak
// memory of a real exporter process over changelogs holding 100k and 1M retained runs
// and jobs with 10k series. Freshness is its own benchmark (bench/freshness.ts).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MetricsView } from '../exporter/view.js';
import { createKafka } from '../platform/kafka/index.js';
import { topicNames, topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { applyDelta } from '../processor/core/aggregates.js';
import { aggregateChangelogKey, encodeAggregate, encodeJob, encodeRun } from '../schemas/changelog.js';
import { DEFAULT_CATALOGUE } from '../schemas/metrics.js';
import type { AggregateValue, JobState, RunState } from '../schemas/model.js';
import { freePort } from '../test/support/broker.js';
import { percentile } from './ingest-load.js';
import { memoryBreakdown, memoryOf } from './memory.js';
import { isReady } from './readiness.js';
import type { BenchContext, Figures } from './types.js';

/** A view whose output has about `series` sample lines: counters, histograms, gauges. */
function buildView(series: number): MetricsView {
  const view = new MetricsView(DEFAULT_CATALOGUE);
  const histograms = Math.floor(series / 2 / 16); // 16 lines each: 14 buckets, sum, count
  const counters = Math.floor(series / 4);
  const jobs = series - histograms * 16 - counters;
  for (let i = 0; i < counters; i++) {
    const labels = {
      repository: `org/repo-${i % 5000}`,
      workflow: `wf-${i % 7}`,
      runner_group: 'g',
      labels: `l${i}`,
      conclusion: 'success',
    };
    const value = applyDelta(
      undefined,
      {
        kind: 'counter',
        name: 'github_actions_jobs_completed_total',
        labels,
        increment: 1,
      },
      DEFAULT_CATALOGUE,
    );
    view.apply(
      aggregateChangelogKey(i % 12, DEFAULT_CATALOGUE.seriesKey(value.name, value.labels)),
      encodeAggregate(value),
    );
  }
  for (let i = 0; i < histograms; i++) {
    const labels = { repository: `org/repo-${i}`, runner_group: 'g', labels: `l${i}` };
    const value = applyDelta(
      undefined,
      {
        kind: 'histogram',
        name: 'github_actions_job_queue_duration_seconds',
        labels,
        observeSeconds: i % 900,
      },
      DEFAULT_CATALOGUE,
    );
    view.apply(
      aggregateChangelogKey(i % 12, DEFAULT_CATALOGUE.seriesKey(value.name, value.labels)),
      encodeAggregate(value),
    );
  }
  for (let i = 0; i < jobs; i++) applyGauge(view, i, 1);
  return view;
}

/** A jobs gauge series (queued jobs of one repository and label set) at a value. */
function applyGauge(view: MetricsView, i: number, members: number): void {
  const labels = {
    repository: `org/repo-${i}`,
    workflow: 'CI',
    runner_group: '',
    labels: `label-${i}`,
    status: 'queued',
  };
  const value: AggregateValue = {
    kind: 'gauge',
    name: 'github_actions_jobs',
    labels,
    value: members,
    members,
    emptySince: null,
  };
  view.apply(
    aggregateChangelogKey(i % 12, DEFAULT_CATALOGUE.seriesKey(value.name, labels)),
    encodeAggregate(value),
  );
}

function scrapeLatency(series: number): Figures {
  const before = process.memoryUsage().rss;
  const view = buildView(series);
  const lines = view
    .render()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#')).length;
  const rss = process.memoryUsage().rss;
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    // One change per scrape, as under live traffic: the cache is invalidated every time.
    applyGauge(view, i, i % 2);
    const t0 = performance.now();
    gzipSync(view.render(), { level: 1 }); // as the exporter serves it
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    [`s${series / 1000}k_lines`]: lines,
    [`s${series / 1000}k_scrape_p50_ms`]: Number(percentile(times, 50).toFixed(1)),
    [`s${series / 1000}k_scrape_p99_ms`]: Number(percentile(times, 99).toFixed(1)),
    [`s${series / 1000}k_rss_mb`]: Math.round(rss / 1e6),
    [`s${series / 1000}k_rss_growth_mb`]: Math.round((rss - before) / 1e6),
  };
}

/**
 * A real exporter process started over changelogs as processors leave them: `entities`
 * retained runs and jobs (half each) in their changelogs, and 10k series in the
 * aggregates changelog, each in three partitions with five updates each (as written
 * before compaction). Measures the time from the process start to /readyz (caught up)
 * and its peak resident memory.
 */
async function catchUp(ctx: BenchContext, entities: number): Promise<Figures> {
  const prefix = `bench-catchup-${entities}-${Date.now() % 100_000}.`;
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-catchup', logger: ctx.logger });
  const plan = topicPlan({ prefix, partitions: 12 });
  await ensureTopics(kafka, plan, 1, ctx.logger);
  const names = topicNames(prefix);
  const producer = kafka.recordProducer();
  await producer.connect();
  const send = async (topic: string, messages: Array<{ key: string; value: Buffer; partition: number }>) => {
    for (let i = 0; i < messages.length; i += 2000) {
      await producer.send([{ topic, records: messages.slice(i, i + 2000) }], 'leader');
    }
  };
  const series = 10_000;
  const base = jobStateAt(0);
  for (let from = 0; from < entities / 2; from += 50_000) {
    const jobs = [];
    const runs = [];
    for (let i = from; i < Math.min(from + 50_000, entities / 2); i++) {
      jobs.push({ key: String(i), value: encodeJob({ ...base, jobId: i, runId: i }), partition: i % 12 });
      runs.push({ key: `${i}:1`, value: encodeRun(runStateAt(i)), partition: i % 12 });
    }
    await send(names.jobsChangelog, jobs);
    await send(names.runsChangelog, runs);
  }
  const aggregates = [];
  for (let update = 0; update < 5; update++) {
    for (let i = 0; i < series; i++) {
      const value: AggregateValue =
        i % 2 === 0
          ? {
              kind: 'counter',
              name: 'github_actions_jobs_completed_total',
              labels: {
                repository: `org/r${i}`,
                workflow: 'CI',
                runner_group: 'g',
                labels: 'l',
                conclusion: 'success',
              },
              value: update + 1,
            }
          : {
              kind: 'gauge',
              name: 'github_actions_jobs',
              labels: {
                repository: `org/r${i}`,
                workflow: 'CI',
                runner_group: 'g',
                labels: 'l',
                status: 'queued',
              },
              value: update,
              members: update,
              emptySince: null,
            };
      for (let copy = 0; copy < 3; copy++) {
        const partition = (i + copy * 4) % 12;
        aggregates.push({
          key: aggregateChangelogKey(partition, DEFAULT_CATALOGUE.seriesKey(value.name, value.labels)),
          value: encodeAggregate(value),
          partition,
        });
      }
    }
  }
  await send(names.aggregatesChangelog, aggregates);
  await producer.disconnect();

  const port = await freePort();
  const started = performance.now();
  // The built CLI, as deployed (npm run bench builds first): tsx would add its compiler.
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '..', 'bin', 'runstream.js'), 'exporter'],
    {
      env: {
        ...process.env,
        KAFKA_BROKERS: ctx.brokers.join(','),
        RUNSTREAM_TOPIC_PREFIX: prefix,
        RUNSTREAM_EXPORTER_PORT: String(port),
        RUNSTREAM_HOST: '127.0.0.1',
        RUNSTREAM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (await isReady(port)) break;
      if (Date.now() > deadline) throw new Error('exporter not caught up within 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const served = text.split('\n').filter((l) => l.startsWith('github_actions_')).length;
    const memory = await memoryOf(child.pid!);
    const kinds = await memoryBreakdown(
      `http://127.0.0.1:${port}/metrics`,
      'exporter',
      `catchup_${entities}_entities_end`,
    );
    return {
      [`catchup_${entities}_entities_s`]: Number(seconds.toFixed(2)),
      [`catchup_${entities}_entities_peak_rss_mb`]: memory.peakMb,
      [`catchup_${entities}_entities_series_lines`]: served,
      [`catchup_${entities}_entities_aggregate_records`]: aggregates.length,
      ...kinds,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics(plan.map((t) => t.name)).catch(() => undefined);
    await admin.disconnect();
  }
}

function jobStateAt(i: number): JobState {
  return {
    jobId: i,
    runId: i,
    runAttempt: 1,
    repository: `org/r${i % 5000}`,
    workflow: 'CI',
    labels: 'ubuntu-latest',
    runnerGroup: 'GitHub Actions',
    runnerName: 'runner-1',
    status: 'completed',
    conclusion: 'success',
    createdAt: 1_700_000_000_000,
    startedAt: 1_700_000_010_000,
    completedAt: 1_700_000_100_000,
    firstSeenAt: 1_700_000_000_000,
    startedSeenAt: 1_700_000_010_000,
    completedSeenAt: 1_700_000_100_000,
    expiredAt: null,
  };
}

function runStateAt(i: number): RunState {
  return {
    runId: i,
    runAttempt: 1,
    repository: `org/r${i % 5000}`,
    workflow: 'CI',
    event: 'push',
    status: 'completed',
    conclusion: 'success',
    createdAt: 1_700_000_000_000,
    runStartedAt: 1_700_000_000_000,
    updatedAt: 1_700_000_100_000,
    firstSeenAt: 1_700_000_000_000,
    completedSeenAt: 1_700_000_100_000,
    expiredAt: null,
  };
}

export async function runExporterBench(ctx: BenchContext): Promise<Figures> {
  const entities = (process.env.BENCH_EXPORTER_ENTITIES ?? '100000,1000000').split(',').map(Number);
  const catchUps: Figures = {};
  for (const n of entities) Object.assign(catchUps, await catchUp(ctx, n));
  return {
    ...scrapeLatency(10_000),
    ...scrapeLatency(100_000),
    ...catchUps,
  };
}
