// Exporter benchmark: scrape latency (render + gzip level 1, one change between scrapes, as
// under live traffic) and resident memory at 10k and 100k series; and freshness, the
// time from ingest's 202 to the value on /metrics, at 200 deliveries/s end to end.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { signedHeaders } from '../demo/send.js';
import { generateStream } from '../demo/stream.js';
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { MetricsView } from '../exporter/view.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { createKafka } from '../platform/kafka.js';
import { topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { applyDelta } from '../processor/core/aggregates.js';
import { applyJob } from '../processor/core/state.js';
import type { JobObservation } from '../processor/core/types.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';
import { aggregateChangelogKey, encodeAggregate, encodeJob } from '../schemas/changelog.js';
import { seriesKey } from '../schemas/metrics.js';
import type { BenchContext, Figures } from './types.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** A view whose output has about `series` sample lines: counters, histograms, gauges. */
function buildView(series: number): MetricsView {
  const view = new MetricsView(86_400_000);
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
    const value = applyDelta(undefined, {
      kind: 'counter',
      name: 'github_actions_jobs_completed_total',
      labels,
      increment: 1,
    });
    view.apply(
      'aggregates',
      aggregateChangelogKey(i % 12, seriesKey(value.name, value.labels)),
      encodeAggregate(value),
    );
  }
  for (let i = 0; i < histograms; i++) {
    const labels = { repository: `org/repo-${i}`, runner_group: 'g', labels: `l${i}` };
    const value = applyDelta(undefined, {
      kind: 'histogram',
      name: 'github_actions_job_queue_duration_seconds',
      labels,
      observeSeconds: i % 900,
    });
    view.apply(
      'aggregates',
      aggregateChangelogKey(i % 12, seriesKey(value.name, value.labels)),
      encodeAggregate(value),
    );
  }
  for (let i = 0; i < jobs; i++) view.apply('jobs', String(i + 1), encodeJob(jobState(i, 'queued')));
  return view;
}

function jobState(i: number, status: 'queued' | 'completed') {
  const obs: JobObservation = {
    kind: 'job',
    jobId: i + 1,
    runId: i + 1,
    runAttempt: 1,
    repository: `org/repo-${i}`,
    workflow: 'CI',
    labels: `label-${i}`,
    runnerGroup: '',
    runnerName: null,
    status,
    conclusion: status === 'completed' ? 'success' : null,
    createdAt: 1_700_000_000_000 + i,
    startedAt: null,
    completedAt: null,
  };
  return applyJob(undefined, obs, 1).state;
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
    view.apply(
      'jobs',
      String(1_000_000 + i),
      encodeJob(jobState(1_000_000 + i, i % 2 ? 'queued' : 'completed')),
    );
    const t0 = performance.now();
    gzipSync(view.render(), { level: 1 }); // as the exporter serves it
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    [`s${series / 1000}k_lines`]: lines,
    [`s${series / 1000}k_scrape_p50_ms`]: Number(percentile(times, 0.5).toFixed(1)),
    [`s${series / 1000}k_scrape_p99_ms`]: Number(percentile(times, 0.99).toFixed(1)),
    [`s${series / 1000}k_rss_mb`]: Math.round(rss / 1e6),
    [`s${series / 1000}k_rss_growth_mb`]: Math.round((rss - before) / 1e6),
  };
}

async function freshness(ctx: BenchContext): Promise<Figures> {
  const prefix = `bench-fresh-${Date.now()}.`;
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-fresh', logger: ctx.logger });
  await ensureTopics(kafka, topicPlan({ prefix, partitions: 12 }), 1, ctx.logger);
  const dir = await mkdtemp(join(tmpdir(), 'runstream-bench-fresh-'));
  const env = {
    KAFKA_BROKERS: ctx.brokers.join(','),
    RUNSTREAM_TOPIC_PREFIX: prefix,
    RUNSTREAM_STATE_DIR: dir,
    RUNSTREAM_WEBHOOK_SECRET: 'bench',
    RUNSTREAM_INGEST_PORT: '0',
    RUNSTREAM_PROCESSOR_PORT: '0',
    RUNSTREAM_EXPORTER_PORT: '0',
    RUNSTREAM_HOST: '127.0.0.1',
  };
  const processor = await startProcessor(readProcessorConfig(env), ctx.logger);
  const exporter = await startExporter(readExporterConfig(env), ctx.logger);
  const ingest = await startIngest(readIngestConfig(env), ctx.logger);
  try {
    // Measure the steady state: the group joined, partitions restored, the view caught up.
    const readyBy = Date.now() + 60_000;
    while (!(processor.processor.readiness().ready && exporter.exporter.isCaughtUp)) {
      if (Date.now() > readyBy) throw new Error('processor or exporter not ready within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const template = generateStream({ seed: 3, runs: 20, duplicateRate: 0 }).find(
      (d) => d.event === 'workflow_job' && d.action === 'completed',
    )!;
    const rate = 200;
    const total = 6000;
    // The first 5 s are warm-up (first transactions, JIT): reported apart, as their max.
    const warmup = 1000;
    // Every delivery of repository r belongs to one run, hence one partition, in send
    // order: the k-th delivery of r is visible once r's completed-jobs counter passes k.
    // Labels stay bounded (48 series per family), as in production, so the poll is cheap.
    const repos = 48;
    const ackedAt: Array<number | undefined> = new Array(total);
    const visibleAt: Array<number | undefined> = new Array(total);
    const visibleCount = new Array<number>(repos).fill(0);
    let accepted = 0;
    const counterLine =
      /^github_actions_jobs_completed_total\{[^}]*repository="fresh\/r(\d+)"[^}]*\} (\d+)$/gm;
    // Poll /metrics over HTTP, as a scraper sees it, one request at a time.
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const response = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
        const text = await response.text();
        const now = performance.now();
        const counts = new Array<number>(repos).fill(0);
        for (const m of text.matchAll(counterLine)) counts[Number(m[1])]! += Number(m[2]);
        for (let r = 0; r < repos; r++) {
          for (let k = visibleCount[r]!; k < counts[r]!; k++) visibleAt[r + k * repos] = now;
          visibleCount[r] = Math.max(visibleCount[r]!, counts[r]!);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = i % repos;
      const payload = {
        ...template.payload,
        repository: { ...(template.payload.repository as object), full_name: `fresh/r${r}` },
        workflow_job: {
          ...(template.payload.workflow_job as object),
          id: 9_000_000 + i,
          run_id: 8_000_000 + r,
        },
      };
      const delivery = { ...template, id: `fresh-${i}`, payload };
      const body = Buffer.from(JSON.stringify(payload));
      sends.push(
        fetch(`http://127.0.0.1:${ingest.port}/webhook`, {
          method: 'POST',
          headers: signedHeaders(delivery, body, 'bench'),
          body,
        }).then(async (response) => {
          await response.arrayBuffer();
          if (response.status === 202) {
            accepted++;
            ackedAt[i] = performance.now();
          }
        }),
      );
    }
    await Promise.all(sends);
    const deadline = Date.now() + 60_000;
    const pending = () => ackedAt.some((at, i) => at !== undefined && visibleAt[i] === undefined);
    while (pending() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    watching = false;
    await watcher;
    // Visible before the 202 reached the sender counts as 0: the value was already there.
    const latency = ackedAt.map((at, i) =>
      at === undefined || visibleAt[i] === undefined ? undefined : Math.max(0, visibleAt[i]! - at),
    );
    const seen = (from: number, to: number) =>
      latency
        .slice(from, to)
        .filter((l): l is number => l !== undefined)
        .sort((x, y) => x - y);
    const steady = seen(warmup, total);
    const warm = seen(0, warmup);
    return {
      fresh_deliveries: total,
      fresh_rate_per_s: rate,
      fresh_accepted: accepted,
      fresh_seen: steady.length + warm.length,
      fresh_p50_ms: Math.round(percentile(steady, 0.5)),
      fresh_p99_ms: Math.round(percentile(steady, 0.99)),
      fresh_warmup_deliveries: warmup,
      fresh_warmup_max_ms: Math.round(warm[warm.length - 1] ?? Number.NaN),
    };
  } finally {
    await ingest.close();
    await exporter.close();
    await processor.close();
    await rm(dir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: topicPlan({ prefix, partitions: 12 }).map((t) => t.name) })
      .catch(() => undefined);
    await admin.disconnect();
  }
}

export async function runExporterBench(ctx: BenchContext): Promise<Figures> {
  return { ...scrapeLatency(10_000), ...scrapeLatency(100_000), ...(await freshness(ctx)) };
}
