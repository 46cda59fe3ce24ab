// Freshness benchmark: the time from ingest's 202 to the value on /metrics, end to end,
// at 200 and 1,000 deliveries/s, with the roles as deployed (`processes`: ingest,
// processor and exporter each the built CLI in its own process, all new for each case) and
// as `runstream all` hosts them (`all`: one process, this one, shared with the sender).
// Each round runs every case on new topics and a new state (BENCH_FRESH_ROUNDS, default
// 3); figures are medians over rounds, latencies beside every round's value. Each case
// reports its first 5 s (warm-up) apart and included; in `processes` every case starts
// cold processes, in `all` only the first round's process is cold.
import { spawn } from 'node:child_process';
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
import { freePort } from '../test/support/broker.js';
import { median } from './ingest.js';
import { removeBenchTopics } from './topics.js';
import type { BenchContext, Figures } from './types.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** The three roles as one process hosts them: in this process (`all`) or each its own (`processes`). */
type Shape = 'all' | 'processes';

interface Roles {
  ingestPort: number;
  exporterPort: number;
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

async function inProcess(env: Record<string, string>, ctx: BenchContext): Promise<Roles> {
  const processor = await startProcessor(readProcessorConfig(env), ctx.logger);
  const exporter = await startExporter(readExporterConfig(env), ctx.logger);
  const ingest = await startIngest(readIngestConfig(env), ctx.logger);
  return {
    ingestPort: ingest.port,
    exporterPort: exporter.port,
    ready: async () => processor.processor.readiness().ready && exporter.exporter.isCaughtUp,
    async close() {
      await ingest.close();
      await exporter.close();
      await processor.close();
    },
  };
}

/** Each role the built CLI in its own process, as deployed; stopped by pid. */
async function asProcesses(env: Record<string, string>): Promise<Roles> {
  const ports = { ingest: await freePort(), processor: await freePort(), exporter: await freePort() };
  const children = (['processor', 'exporter', 'ingest'] as const).map((role) =>
    spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'runstream.js'), role], {
      env: {
        ...process.env,
        ...env,
        RUNSTREAM_INGEST_PORT: String(ports.ingest),
        RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
        RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
        RUNSTREAM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const readyz = async (port: number) =>
    fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  return {
    ingestPort: ports.ingest,
    exporterPort: ports.exporter,
    ready: async () =>
      (await Promise.all([readyz(ports.ingest), readyz(ports.processor), readyz(ports.exporter)])).every(
        Boolean,
      ),
    async close() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

async function freshness(ctx: BenchContext, shape: Shape, rate: number, seconds: number): Promise<Figures> {
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
  const roles = shape === 'all' ? await inProcess(env, ctx) : await asProcesses(env);
  let stopWatching = async () => undefined;
  try {
    // Measure from the ready state: the group joined, partitions restored, the view caught up.
    const readyBy = Date.now() + 60_000;
    while (!(await roles.ready())) {
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
        const response = await fetch(`http://127.0.0.1:${roles.exporterPort}/metrics`);
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
        fetch(`http://127.0.0.1:${roles.ingestPort}/webhook`, {
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
      [`fresh_${shape}_${rate}_deliveries`]: total,
      [`fresh_${shape}_${rate}_accepted`]: accepted,
      [`fresh_${shape}_${rate}_unanswered`]: sendErrors.length,
      ...(sendErrors.length > 0 ? { [`fresh_${shape}_${rate}_unanswered_first`]: sendErrors[0]! } : {}),
      [`fresh_${shape}_${rate}_seen`]: steady.length + warm.length,
      [`fresh_${shape}_${rate}_p50_ms`]: Math.round(percentile(steady, 0.5)),
      [`fresh_${shape}_${rate}_p99_ms`]: Math.round(percentile(steady, 0.99)),
      // Including the first 5 s of load.
      [`fresh_${shape}_${rate}_p99_with_warmup_ms`]: Math.round(
        percentile(
          [...warm, ...steady].sort((x, y) => x - y),
          0.99,
        ),
      ),
      [`fresh_${shape}_${rate}_warmup_max_ms`]: Math.round(warm[warm.length - 1] ?? Number.NaN),
    };
  } finally {
    // Never close the exporter under the poller: its failure would hide the real one.
    await stopWatching();
    await roles.close();
    await rm(dir, { recursive: true, force: true });
    await removeBenchTopics(kafka, prefix);
  }
}

export async function runFreshnessBench(ctx: BenchContext): Promise<Figures> {
  const rounds = Number(process.env.BENCH_FRESH_ROUNDS ?? 3);
  const cases = (['processes', 'all'] as const).flatMap((shape) =>
    [200, 1000].map((rate) => ({ shape, rate, seconds: rate === 200 ? 30 : 20 })),
  );
  const runs = cases.map(() => [] as Figures[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of cases.entries()) runs[i]!.push(await freshness(ctx, c.shape, c.rate, c.seconds));
  }
  const figures: Figures = { rounds };
  for (const all of runs) {
    for (const key of Object.keys(all[0]!)) {
      const values = all.map((f) => f[key]);
      if (values.every((v) => typeof v === 'number')) {
        figures[key] = Math.round(median(values as number[]));
        if (/_ms$/.test(key)) figures[`${key}_rounds`] = values.join(' / ');
      } else {
        figures[key] = values.join(' / ');
      }
    }
  }
  return figures;
}
