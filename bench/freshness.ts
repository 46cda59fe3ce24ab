// Freshness benchmark: the time from ingest's 202 to the value on /metrics, end to end
// (ingest, processor and exporter in this process, as `runstream all`), at 200 and 1,000
// deliveries/s. Rounds alternate the two rates (BENCH_FRESH_ROUNDS, default 3), each on
// new topics and a new state; figures are medians over rounds, beside every round's
// value. Every round reports its first 5 s (warm-up) apart and included.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedHeaders } from '../demo/send.js';
import { generateStream } from '../demo/stream.js';
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { createKafka } from '../platform/kafka.js';
import { topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';
import { median } from './ingest.js';
import type { BenchContext, Figures } from './types.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function freshness(ctx: BenchContext, rate: number, seconds: number): Promise<Figures> {
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
  let stopWatching = async () => undefined;
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
    const total = rate * seconds;
    // The first 5 s are warm-up (first transactions, JIT): reported apart, as their max.
    const warmup = rate * 5;
    // Every delivery of repository r belongs to one run, hence one partition, in send
    // order: the k-th delivery of r is visible once r's completed-jobs counter passes k.
    // Labels stay bounded (48 series per family), as in production, so the poll is cheap.
    const repos = 48;
    const ackedAt: Array<number | undefined> = new Array(total);
    const visibleAt: Array<number | undefined> = new Array(total);
    const visibleCount = new Array<number>(repos).fill(0);
    let accepted = 0;
    const sendErrors: string[] = [];
    const counterLine =
      /^github_actions_jobs_completed_total\{[^}]*repository="fresh\/r(\d+)"[^}]*\} (\d+)$/gm;
    // Poll /metrics over HTTP, as a scraper sees it, one request at a time.
    let watching = true;
    let watchError: unknown;
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
    })().catch((error: unknown) => {
      watchError = error;
    });
    stopWatching = async () => {
      watching = false;
      await watcher;
    };
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
        })
          .then(async (response) => {
            await response.arrayBuffer();
            if (response.status === 202) {
              accepted++;
              ackedAt[i] = performance.now();
            }
          })
          .catch((error: unknown) => {
            // No answer (a connection reset under load): as for GitHub, not delivered.
            sendErrors.push(String((error as Error).cause ?? error));
          }),
      );
    }
    await Promise.all(sends);
    const deadline = Date.now() + 60_000;
    const pending = () => ackedAt.some((at, i) => at !== undefined && visibleAt[i] === undefined);
    while (pending() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await stopWatching();
    if (watchError) throw new Error('polling /metrics failed', { cause: watchError });
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
      [`fresh_${rate}_deliveries`]: total,
      [`fresh_${rate}_accepted`]: accepted,
      [`fresh_${rate}_unanswered`]: sendErrors.length,
      ...(sendErrors.length > 0 ? { [`fresh_${rate}_unanswered_first`]: sendErrors[0]! } : {}),
      [`fresh_${rate}_seen`]: steady.length + warm.length,
      [`fresh_${rate}_p50_ms`]: Math.round(percentile(steady, 0.5)),
      [`fresh_${rate}_p99_ms`]: Math.round(percentile(steady, 0.99)),
      // Including the first 5 s of load.
      [`fresh_${rate}_p99_with_warmup_ms`]: Math.round(
        percentile(
          [...warm, ...steady].sort((x, y) => x - y),
          0.99,
        ),
      ),
      [`fresh_${rate}_warmup_max_ms`]: Math.round(warm[warm.length - 1] ?? Number.NaN),
    };
  } finally {
    // Never close the exporter under the poller: its failure would hide the real one.
    await stopWatching();
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

export async function runFreshnessBench(ctx: BenchContext): Promise<Figures> {
  const rounds = Number(process.env.BENCH_FRESH_ROUNDS ?? 3);
  const runs: Record<number, Figures[]> = { 200: [], 1000: [] };
  for (let round = 0; round < rounds; round++) {
    runs[200]!.push(await freshness(ctx, 200, 30));
    runs[1000]!.push(await freshness(ctx, 1000, 20));
  }
  const figures: Figures = { rounds };
  for (const rate of [200, 1000]) {
    const all = runs[rate]!;
    for (const key of Object.keys(all[0]!)) {
      const values = all.map((f) => f[key]);
      if (values.every((v) => typeof v === 'number')) {
        figures[key] = Math.round(median(values as number[]));
        figures[`${key}_rounds`] = values.join(' / ');
      } else {
        figures[key] = values.join(' / ');
      }
    }
  }
  return figures;
}
