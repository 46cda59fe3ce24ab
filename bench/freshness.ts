// Freshness benchmark: the time from ingest's 202 to the value on /metrics, end to end,
// at 200 and 1,000 deliveries/s, with the roles as deployed (`processes`: ingest,
// processor and exporter each the built CLI in its own process, all new for each case) and
// as `runstream all` hosts them (`all`: one process, this one, shared with the sender).
// Each round runs every case on new topics and a new state (BENCH_FRESH_ROUNDS, default
// 3); figures are medians over rounds, latencies beside every round's value. Each case
// reports its first 5 s (warm-up) apart and included; in `processes` every case starts
// cold processes, in `all` only the first round's process is cold. The CPU figures are
// shares of one core from the first send until every delivery was seen: the harness's
// (the sender and the /metrics poller; in `all` also the roles it hosts) and each role's.
//
// BENCH_FRESH_CASES (e.g. `processes-1000,all-200`) runs only those cases;
// BENCH_FRESH_TRACE=<dir> writes each case's start and every delivery's 202 and visible times;
// BENCH_FRESH_LOG_DIR=<dir> keeps the `processes` roles' logs there (processor and
// exporter at debug, ingest at info; the logging itself slows them).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedHeaders } from '../demo/send.js';
import { generateStream } from '../demo/stream.js';
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { createKafka } from '../platform/kafka/index.js';
import { topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';
import { freePort } from '../test/support/broker.js';
import { freshnessGoals } from './goals.js';
import { median } from './ingest.js';
import { percentile } from './ingest-load.js';
import { cpuSecondsOf } from './memory.js';
import { isReady } from './readiness.js';
import { removeBenchTopics } from './topics.js';
import type { BenchContext, Figures } from './types.js';

/** The three roles as one process hosts them: in this process (`all`) or each its own (`processes`). */
type Shape = 'all' | 'processes';

interface Roles {
  ingestPort: number;
  exporterPort: number;
  ready(): Promise<boolean>;
  /** CPU seconds each role's own process has used so far (none when they share this one). */
  cpuSeconds(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** One HTTP request over the pool; resolves with the status and the body once read. */
function request(
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer },
  agent: Agent,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const get = async (port: number, path: string, agent: Agent) =>
  (await request(port, { method: 'GET', path }, agent)).text;

const post = async (
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  agent: Agent,
) => (await request(port, { method: 'POST', path, headers, body }, agent)).status;

async function inProcess(env: Record<string, string>, ctx: BenchContext): Promise<Roles> {
  const processor = await startProcessor(readProcessorConfig(env), ctx.logger);
  const exporter = await startExporter(readExporterConfig(env), ctx.logger);
  const ingest = await startIngest(readIngestConfig(env), ctx.logger);
  return {
    ingestPort: ingest.port,
    exporterPort: exporter.port,
    ready: async () => processor.processor.readiness().ready && exporter.exporter.isCaughtUp,
    cpuSeconds: async () => ({}),
    async close() {
      await ingest.close();
      await exporter.close();
      await processor.close();
    },
  };
}

const ROLES = ['processor', 'exporter', 'ingest'] as const;

/** Each role the built CLI in its own process, as deployed; stopped by pid. */
async function asProcesses(env: Record<string, string>): Promise<Roles> {
  const ports = { ingest: await freePort(), processor: await freePort(), exporter: await freePort() };
  if (process.env.BENCH_FRESH_LOG_DIR) mkdirSync(process.env.BENCH_FRESH_LOG_DIR, { recursive: true });
  const children = ROLES.map((role) =>
    spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'runstream.js'), role], {
      env: {
        ...process.env,
        ...env,
        RUNSTREAM_INGEST_PORT: String(ports.ingest),
        RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
        RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
        RUNSTREAM_LOG_LEVEL: process.env.BENCH_FRESH_LOG_DIR
          ? role === 'ingest'
            ? 'info'
            : 'debug'
          : 'warn',
      },
      stdio: [
        'ignore',
        process.env.BENCH_FRESH_LOG_DIR
          ? openSync(join(process.env.BENCH_FRESH_LOG_DIR, `${role}-${Date.now()}.log`), 'w')
          : 'ignore',
        'inherit',
      ],
    }),
  );
  return {
    ingestPort: ports.ingest,
    exporterPort: ports.exporter,
    ready: async () =>
      (await Promise.all([isReady(ports.ingest), isReady(ports.processor), isReady(ports.exporter)])).every(
        Boolean,
      ),
    cpuSeconds: async () =>
      Object.fromEntries(
        await Promise.all(
          children.map(async (child, i) => [ROLES[i]!, await cpuSecondsOf(child.pid!)] as const),
        ),
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
  let agent: Agent | undefined;
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
    // Every request is made before the clock starts (bodies and signatures), and sent over
    // a bounded pool of keep-alive connections: the harness shares the two cores with what
    // it measures, so what it spends per delivery is kept small and reported (cpu figures).
    const requests = Array.from({ length: total }, (_, i) => {
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
      const body = Buffer.from(JSON.stringify(payload));
      // A GUID per request, as GitHub's: the template's with its last 12 digits numbered.
      const id = `${template.id.slice(0, 24)}${String(i).padStart(12, '0')}`;
      return { body, headers: signedHeaders({ ...template, id, payload }, body, 'bench') };
    });
    agent = new Agent({ keepAlive: true, maxSockets: 64 });
    // Poll /metrics as a scraper does, one request at a time, uncompressed; only the lines
    // of one family are read.
    const family = 'github_actions_jobs_completed_total{';
    const repoLabel = 'repository="fresh/r';
    let watching = true;
    let watchError: unknown;
    const watcher = (async () => {
      while (watching) {
        const text = await get(roles.exporterPort, '/metrics', agent!);
        const now = performance.now();
        const counts = new Array<number>(repos).fill(0);
        for (let at = text.indexOf(family); at !== -1; at = text.indexOf(family, at + 1)) {
          const end = text.indexOf('\n', at);
          const line = text.slice(at, end === -1 ? undefined : end);
          const label = line.indexOf(repoLabel);
          if (label === -1) continue;
          const r = Number.parseInt(line.slice(label + repoLabel.length), 10);
          counts[r]! += Number(line.slice(line.lastIndexOf(' ') + 1));
        }
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
    const cpuBefore = { harness: process.cpuUsage(), roles: await roles.cpuSeconds() };
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { body, headers } = requests[i]!;
      sends.push(
        post(roles.ingestPort, '/webhook', headers, body, agent!).then(
          (status) => {
            if (status === 202) {
              accepted++;
              ackedAt[i] = performance.now();
            }
          },
          (error: unknown) => {
            // No answer (a connection reset under load): as for GitHub, not delivered.
            sendErrors.push(String(error));
          },
        ),
      );
    }
    await Promise.all(sends);
    const deadline = Date.now() + 60_000;
    const pending = () => ackedAt.some((at, i) => at !== undefined && visibleAt[i] === undefined);
    while (pending() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Share of one core each used from the first send until every delivery was seen.
    const elapsed = (performance.now() - started) / 1000;
    const harnessCpu = process.cpuUsage(cpuBefore.harness);
    const cpu: Figures = {
      [`fresh_${shape}_${rate}_cpu_harness_pct`]: Math.round(
        (harnessCpu.user + harnessCpu.system) / 1e4 / elapsed,
      ),
    };
    for (const [role, seconds] of Object.entries(await roles.cpuSeconds())) {
      cpu[`fresh_${shape}_${rate}_cpu_${role}_pct`] = Math.round(
        (100 * (seconds - (cpuBefore.roles[role] ?? 0))) / elapsed,
      );
    }
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
    if (process.env.BENCH_FRESH_TRACE) {
      // Times are performance.now(); timeOrigin + a time is the wall clock the roles log.
      await mkdir(process.env.BENCH_FRESH_TRACE, { recursive: true });
      await writeFile(
        join(process.env.BENCH_FRESH_TRACE, `${shape}-${rate}-${Date.now()}.json`),
        JSON.stringify({ timeOrigin: performance.timeOrigin, started, ackedAt, visibleAt }),
      );
    }
    const steady = seen(warmup, total);
    const warm = seen(0, warmup);
    return {
      [`fresh_${shape}_${rate}_deliveries`]: total,
      [`fresh_${shape}_${rate}_accepted`]: accepted,
      [`fresh_${shape}_${rate}_unanswered`]: sendErrors.length,
      ...(sendErrors.length > 0 ? { [`fresh_${shape}_${rate}_unanswered_first`]: sendErrors[0]! } : {}),
      [`fresh_${shape}_${rate}_seen`]: steady.length + warm.length,
      [`fresh_${shape}_${rate}_p50_ms`]: Math.round(percentile(steady, 50)),
      [`fresh_${shape}_${rate}_p99_ms`]: Math.round(percentile(steady, 99)),
      // Including the first 5 s of load.
      [`fresh_${shape}_${rate}_p99_with_warmup_ms`]: Math.round(
        percentile(
          [...warm, ...steady].sort((x, y) => x - y),
          99,
        ),
      ),
      [`fresh_${shape}_${rate}_warmup_max_ms`]: Math.round(warm[warm.length - 1] ?? Number.NaN),
      ...cpu,
    };
  } finally {
    // Never close the exporter under the poller: its failure would hide the real one.
    await stopWatching();
    agent?.destroy();
    await roles.close();
    await rm(dir, { recursive: true, force: true });
    await removeBenchTopics(kafka, prefix);
  }
}

export async function runFreshnessBench(ctx: BenchContext): Promise<Figures> {
  const rounds = Number(process.env.BENCH_FRESH_ROUNDS ?? 3);
  const only = process.env.BENCH_FRESH_CASES?.split(',');
  const cases = (['processes', 'all'] as const)
    .flatMap((shape) => [200, 1000].map((rate) => ({ shape, rate, seconds: rate === 200 ? 30 : 20 })))
    .filter((c) => !only || only.includes(`${c.shape}-${c.rate}`));
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
  return { ...figures, ...freshnessGoals(figures) };
}
