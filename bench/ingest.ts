// Ingest throughput and latency: 64 concurrent senders POST a real signed ~8 KB
// workflow_job payload through HTTP keep-alive to a real `startIngest` (HMAC, Avro,
// kafkajs produce with acks=all to the real broker), beside a baseline in the same
// run that does everything except the produce (the same webhook route on an app
// built the same way, with a publisher that encodes and resolves at once).
//
// The machine is small and noisy: rounds of the two targets alternate after a
// warm-up, and the figures are medians over rounds. The senders run in a forked
// process (bench/ingest-load.ts), so they do not share an event loop with ingest.
//
// Then the cost: the built CLI's `runstream ingest` in a process of its own, as
// deployed, fed at a fixed rate (BENCH_INGEST_RATE, 1,000/s) in an open loop; its CPU
// time (user + system, from /proc, that process's only: not the senders', not this
// one's) per accepted delivery, for each of BENCH_INGEST_CPU_ROUNDS rounds after a
// warm-up, and their median. BENCH_PROFILE_DIR: a V8 CPU profile of that process;
// BENCH_INGEST_BIN: another build's bin/runstream.js in its place; BENCH_INGEST_COMPARE_BIN:
// one beside it, fed alike at the same time, to compare two builds on a noisy machine.
// After those rounds, the same rounds alone for the floor (bench/ingest-floor.ts, the least
// a receiver on Node and kafkajs does per delivery; BENCH_INGEST_FLOOR=0 skips it).
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readIngestLimits } from '../ingest/config.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { createIngestMetrics } from '../ingest/metrics.js';
import { registerWebhookRoute } from '../ingest/server.js';
import { type Env, readInt } from '../platform/config.js';
import { createHttpApp } from '../platform/http.js';
import { createKafka } from '../platform/kafka/index.js';
import { createRoleRegistry } from '../platform/metrics.js';
import type { RoleHandle } from '../platform/role.js';
import { topicNames, topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { codecs } from '../schemas/codecs.js';
import { freePort } from '../test/support/broker.js';
import { goalOf } from './goals.js';
import { FLOOR_SERVER_FLAG } from './ingest-floor.js';
import { LOAD_GENERATOR_FLAG, type LoadCommand, type LoadReply, type RoundResult } from './ingest-load.js';
import { cpuSecondsOf } from './memory.js';
import { isReady } from './readiness.js';
import type { BenchContext, Figures } from './types.js';

export interface IngestBenchOptions {
  concurrency: number;
  /** Measured rounds per target; each target gets rounds * roundMs of load. */
  rounds: number;
  roundMs: number;
  warmupMs: number;
  partitions: number;
  payloadBytes: number;
  /** The cost case: deliveries a second, its rounds (0: skip it) and their length. */
  rate: number;
  cpuRounds: number;
  cpuRoundMs: number;
  /** After the cost rounds, the same rounds for the floor (bench/ingest-floor.ts) alone. */
  floor: boolean;
}

/** Defaults: 64 senders, 5 x 2 s per target after 2 s of warm-up each (~25 s of load). */
export function ingestBenchOptions(env: Env = process.env): IngestBenchOptions {
  return {
    concurrency: readInt(env, 'BENCH_INGEST_CONCURRENCY', 64, 1, 4096),
    rounds: readInt(env, 'BENCH_INGEST_ROUNDS', 5, 1, 1000),
    roundMs: readInt(env, 'BENCH_INGEST_ROUND_MS', 2000, 100),
    warmupMs: readInt(env, 'BENCH_INGEST_WARMUP_MS', 2000, 0),
    partitions: readInt(env, 'BENCH_INGEST_PARTITIONS', 12, 1, 10_000),
    payloadBytes: readInt(env, 'BENCH_INGEST_PAYLOAD_BYTES', 8192, 1),
    rate: readInt(env, 'BENCH_INGEST_RATE', 1000, 1, 100_000),
    cpuRounds: readInt(env, 'BENCH_INGEST_CPU_ROUNDS', 3, 0, 100),
    cpuRoundMs: readInt(env, 'BENCH_INGEST_CPU_ROUND_MS', 10_000, 1000),
    floor: readInt(env, 'BENCH_INGEST_FLOOR', 1, 0, 1) === 1,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The forked load generator, one command at a time. */
class LoadGenerator {
  private readonly child: ChildProcess;
  private exited: Promise<void>;

  constructor() {
    this.child = fork(new URL('./ingest-load.ts', import.meta.url), [LOAD_GENERATOR_FLAG], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  ask(command: LoadCommand): Promise<LoadReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: LoadReply) => {
        off();
        if (reply.type === 'error') reject(new Error(`load generator: ${reply.message}`));
        else resolve(reply);
      };
      const onExit = (code: number | null, signal: string | null) => {
        off();
        reject(new Error(`load generator exited (code ${code}, signal ${signal})`));
      };
      const off = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
      this.child.send(command);
    });
  }

  async round(
    url: string,
    durationMs: number,
    concurrency: number,
    ratePerSecond?: number,
  ): Promise<RoundResult> {
    const command: LoadCommand = { type: 'run', url, durationMs, concurrency };
    const reply = await this.ask(ratePerSecond === undefined ? command : { ...command, ratePerSecond });
    if (reply.type !== 'result') throw new Error(`load generator answered ${reply.type} to run`);
    return reply.result;
  }

  /** Asks it to exit, and kills it (by its handle) if it has not within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ type: 'exit' });
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

function summarise(label: string, rounds: readonly RoundResult[]): Figures {
  const rates = rounds.map((r) => r.rate);
  const failures: Record<string, number> = {};
  for (const r of rounds) {
    for (const [status, n] of Object.entries(r.failures)) failures[status] = (failures[status] ?? 0) + n;
  }
  return {
    [`${label}_rate_per_s`]: round1(median(rates)),
    [`${label}_rate_range_per_s`]: `${round1(Math.min(...rates))}..${round1(Math.max(...rates))}`,
    [`${label}_p50_ms`]: round2(median(rounds.map((r) => r.p50Ms))),
    [`${label}_p99_ms`]: round2(median(rounds.map((r) => r.p99Ms))),
    [`${label}_accepted`]: rounds.reduce((sum, r) => sum + r.accepted, 0),
    [`${label}_failures`]:
      Object.entries(failures)
        .map(([status, n]) => `${status}x${n}`)
        .join(' ') || 'none',
  };
}

/** Records on a topic (every partition's high minus low watermark). */
async function recordsIn(kafka: ReturnType<typeof createKafka>, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let records = 0;
    for (const p of await admin.partitionOffsets(topic)) records += Number(p.high - p.low);
    return records;
  } finally {
    await admin.disconnect();
  }
}

/** `runstream ingest` (the built CLI) in a process of its own; stopped by its handle. */
async function ingestProcess(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const child = spawn(
    process.execPath,
    [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...args],
    {
      env: { ...process.env, ...env, RUNSTREAM_INGEST_PORT: String(port), RUNSTREAM_HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const readyBy = Date.now() + 60_000;
  while (!(await isReady(port))) {
    if (child.exitCode !== null) throw new Error(`ingest exited with code ${child.exitCode} before ready`);
    if (Date.now() > readyBy) throw new Error('ingest not ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port };
}

/** SIGTERM (a graceful stop writes the CPU profile), SIGKILL after 15 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** One ingest process of the cost case: its build, topics, senders and rounds. */
interface CostTarget {
  label: string;
  /** Node's arguments: a build's bin with `ingest`, or the floor with its flag. */
  args: string[];
  prefix: string;
  load: LoadGenerator;
  child?: ChildProcess;
  url?: string;
  accepted: number;
  rounds: Array<{ result: RoundResult; cpuUs: number }>;
}

/**
 * The cost case: CPU per delivery of an ingest process at a fixed rate (see the header).
 * With BENCH_INGEST_COMPARE_BIN, a second build runs beside this one, each with its own
 * topics and senders at the rate, their rounds at the same time: both see the same machine,
 * so a comparison holds on a noisy one.
 */
async function runCostCase(
  ctx: BenchContext,
  load: LoadGenerator,
  secret: string,
  options: IngestBenchOptions,
): Promise<Figures> {
  const logger = ctx.logger.child({ bench: 'ingest', case: 'cost' });
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'runstream-bench', logger });
  const newPrefix = () => `bench${randomUUID().slice(0, 8)}.`;
  const targets: CostTarget[] = [
    {
      label: 'cost',
      args: [
        process.env.BENCH_INGEST_BIN ?? join(import.meta.dirname, '..', 'bin', 'runstream.js'),
        'ingest',
      ],
      prefix: newPrefix(),
      load,
      accepted: 0,
      rounds: [],
    },
  ];
  const compareBin = process.env.BENCH_INGEST_COMPARE_BIN;
  if (compareBin) {
    targets.push({
      label: 'cost_compare',
      args: [compareBin, 'ingest'],
      prefix: newPrefix(),
      load: new LoadGenerator(),
      accepted: 0,
      rounds: [],
    });
  }
  const at = `at${options.rate}`;
  // The floor runs after the others, alone: beside them it would share their cores.
  const floor: CostTarget | undefined = options.floor
    ? {
        label: 'floor',
        args: [
          '--import',
          import.meta.resolve('tsx'),
          join(import.meta.dirname, 'ingest-floor.ts'),
          FLOOR_SERVER_FLAG,
        ],
        prefix: newPrefix(),
        load,
        accepted: 0,
        rounds: [],
      }
    : undefined;
  // At most BENCH_INGEST_CONCURRENCY connections (as GitHub's senders would keep): when
  // ingest falls behind, requests wait in the sender, not in thousands of connections.
  const round = (target: CostTarget, ms: number) =>
    target.load.round(target.url!, ms, options.concurrency, options.rate);
  /** Starts the group's processes, warms them up, then measures their rounds together. */
  const measure = async (group: CostTarget[]) => {
    for (const target of group) {
      if (target.load !== load) {
        const ready = await target.load.ask({
          type: 'init',
          secret,
          targetBytes: options.payloadBytes,
          variants: 256,
        });
        if (ready.type !== 'ready') throw new Error(`load generator answered ${ready.type} to init`);
      }
      await ensureTopics(
        kafka,
        topicPlan({ prefix: target.prefix, partitions: options.partitions }),
        -1,
        logger,
      );
      const started = await ingestProcess(target.args, {
        KAFKA_BROKERS: ctx.brokers.join(','),
        RUNSTREAM_TOPIC_PREFIX: target.prefix,
        RUNSTREAM_PARTITIONS: String(options.partitions),
        RUNSTREAM_WEBHOOK_SECRET: secret,
        RUNSTREAM_LOG_LEVEL: process.env.RUNSTREAM_LOG_LEVEL ?? 'info',
      });
      target.child = started.child;
      target.url = `http://127.0.0.1:${started.port}/webhook`;
    }
    if (options.warmupMs > 0) {
      await Promise.all(
        group.map(async (t) => {
          t.accepted += (await round(t, options.warmupMs)).accepted;
        }),
      );
    }
    for (let i = 0; i < options.cpuRounds; i += 1) {
      await Promise.all(
        group.map(async (t) => {
          const before = await cpuSecondsOf(t.child!.pid!);
          const result = await round(t, options.cpuRoundMs);
          const cpuSeconds = (await cpuSecondsOf(t.child!.pid!)) - before;
          const cpuUs = result.accepted > 0 ? (cpuSeconds * 1e6) / result.accepted : Number.NaN;
          t.accepted += result.accepted;
          t.rounds.push({ result, cpuUs });
          logger.info(
            { target: t.label, round: i + 1, rate: round1(result.rate), cpuUsPerDelivery: round1(cpuUs) },
            'cost round',
          );
        }),
      );
    }
  };
  try {
    await measure(targets);
    if (floor) {
      for (const t of targets) if (t.child) await stopProcess(t.child);
      targets.push(floor);
      await measure([floor]);
    }
    const figures: Figures = {
      [`cost_${at}_rounds`]: `${options.cpuRounds} x ${options.cpuRoundMs / 1000} s (+${options.warmupMs / 1000} s warm-up), ingest in its own process${compareBin ? `, beside ${compareBin} (cost_compare_*)` : ''}${floor ? '; then the floor alone (floor_*: node:http, HMAC, JSON.parse and the idempotent producer, nothing else)' : ''}`,
    };
    for (const t of targets) {
      const records = await recordsIn(kafka, topicNames(t.prefix).deliveries);
      const failures: Record<string, number> = {};
      for (const { result } of t.rounds) {
        for (const [status, n] of Object.entries(result.failures))
          failures[status] = (failures[status] ?? 0) + n;
      }
      const name = `${t.label}_${at}`;
      Object.assign(figures, {
        [`${name}_cpu_us_per_delivery`]: round1(median(t.rounds.map((r) => r.cpuUs))),
        [`${name}_cpu_us_per_delivery_rounds`]: t.rounds.map((r) => round1(r.cpuUs)).join(', '),
        // The floor is a measuring stick: no goal of its own.
        ...(t === floor
          ? {}
          : goalOf(
              `${name}_cpu_us_per_delivery`,
              'at most 150 (median)',
              median(t.rounds.map((r) => r.cpuUs)) <= 150,
            )),
        [`${name}_rate_per_s`]: round1(median(t.rounds.map((r) => r.result.rate))),
        [`${name}_p50_ms`]: round2(median(t.rounds.map((r) => r.result.p50Ms))),
        [`${name}_p99_ms`]: round2(median(t.rounds.map((r) => r.result.p99Ms))),
        [`${name}_failures`]:
          Object.entries(failures)
            .map(([status, n]) => `${status}x${n}`)
            .join(' ') || 'none',
        [`${name}_records_match_202s`]:
          records === t.accepted ? 'yes' : `no (${records} records, ${t.accepted} accepted)`,
      });
    }
    if (floor && floor.rounds.length > 0) {
      // How far ingest is from the floor, and how far the goal is below it.
      const floorUs = median(floor.rounds.map((r) => r.cpuUs));
      figures[`cost_${at}_to_floor_ratio`] = round2(median(targets[0]!.rounds.map((r) => r.cpuUs)) / floorUs);
      figures[`floor_${at}_to_goal_ratio`] = round2(floorUs / 150);
    }
    return figures;
  } finally {
    for (const t of targets) {
      if (t.child) await stopProcess(t.child);
      if (t.load !== load) await t.load.stop();
    }
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() =>
        admin.deleteTopics(
          targets.flatMap((t) => topicPlan({ prefix: t.prefix, partitions: 1 }).map((s) => s.name)),
        ),
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'could not delete the bench topics'))
      .finally(() => admin.disconnect());
  }
}

export async function runIngestBench(
  ctx: BenchContext,
  options: IngestBenchOptions = ingestBenchOptions(),
): Promise<Figures> {
  const logger = ctx.logger.child({ bench: 'ingest' });
  const secret = `bench-${randomUUID()}`;
  const prefix = `bench${randomUUID().slice(0, 8)}.`;
  const topic = topicNames(prefix).deliveries;
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'runstream-bench', logger });
  await ensureTopics(kafka, topicPlan({ prefix, partitions: options.partitions }), -1, logger);

  let ingest: RoleHandle | undefined;
  let baseline: FastifyInstance | undefined;
  const load = new LoadGenerator();
  try {
    ingest = await startIngest(
      {
        ...readIngestConfig({
          KAFKA_BROKERS: ctx.brokers.join(','),
          RUNSTREAM_TOPIC_PREFIX: prefix,
          RUNSTREAM_PARTITIONS: String(options.partitions),
          RUNSTREAM_WEBHOOK_SECRET: secret,
        }),
        logLevel: logger.level,
        port: 0,
        host: '127.0.0.1',
      },
      logger.child({ role: 'ingest' }),
    );
    const limits = readIngestLimits({});
    baseline = createHttpApp(logger.child({ role: 'ingest-baseline' }), limits);
    registerWebhookRoute(baseline, {
      secrets: [secret],
      // Everything but the produce: the Avro encoding is the publisher's, so it stays in.
      publisher: {
        publish: async (records) =>
          records.map((r) => {
            codecs.delivery.encode(r.delivery);
            return { partition: 0, offset: '0' };
          }),
      },
      metrics: createIngestMetrics(createRoleRegistry('ingest')),
      logger: logger.child({ role: 'ingest-baseline' }),
      limits,
    });
    await baseline.listen({ port: 0, host: '127.0.0.1' });
    const targets = {
      baseline: `http://127.0.0.1:${(baseline.server.address() as { port: number }).port}/webhook`,
      kafka: `http://127.0.0.1:${ingest.port}/webhook`,
    };

    const ready = await load.ask({
      type: 'init',
      secret,
      targetBytes: options.payloadBytes,
      variants: 256,
    });
    if (ready.type !== 'ready') throw new Error(`load generator answered ${ready.type} to init`);
    logger.info({ payloadBytes: ready.payloadBytes, targets }, 'warming up');

    let warmupAccepted = 0;
    if (options.warmupMs > 0) {
      await load.round(targets.baseline, options.warmupMs, options.concurrency);
      warmupAccepted = (await load.round(targets.kafka, options.warmupMs, options.concurrency)).accepted;
    }
    const results: Record<'baseline' | 'kafka', RoundResult[]> = { baseline: [], kafka: [] };
    for (let i = 0; i < options.rounds; i += 1) {
      // Alternate which target goes first, so a drift in machine load hits both alike.
      const order = i % 2 === 0 ? (['baseline', 'kafka'] as const) : (['kafka', 'baseline'] as const);
      for (const name of order) {
        const result = await load.round(targets[name], options.roundMs, options.concurrency);
        results[name].push(result);
        logger.info(
          { target: name, round: i + 1, rate: round1(result.rate), p50: round2(result.p50Ms) },
          'round',
        );
      }
    }

    // Every 202 must be a record in the topic: acks=all, so count what the broker holds.
    const recordsInTopic = await recordsIn(kafka, topic);

    const baselineFigures = summarise('baseline', results.baseline);
    const kafkaFigures = summarise('kafka', results.kafka);
    const kafkaAccepted = Number(kafkaFigures.kafka_accepted) + warmupAccepted;
    return {
      payload_bytes: ready.payloadBytes,
      payload: `workflow_job.${ready.action}`,
      concurrency: options.concurrency,
      partitions: options.partitions,
      rounds: `${options.rounds} x ${options.roundMs / 1000} s per target (+${options.warmupMs / 1000} s warm-up)`,
      ...baselineFigures,
      ...kafkaFigures,
      rate_ratio_kafka_to_baseline: round2(
        Number(kafkaFigures.kafka_rate_per_s) / Number(baselineFigures.baseline_rate_per_s),
      ),
      p50_ratio_kafka_to_baseline: round2(
        Number(kafkaFigures.kafka_p50_ms) / Number(baselineFigures.baseline_p50_ms),
      ),
      p99_ratio_kafka_to_baseline: round2(
        Number(kafkaFigures.kafka_p99_ms) / Number(baselineFigures.baseline_p99_ms),
      ),
      kafka_records_in_topic: recordsInTopic,
      kafka_records_match_202s: recordsInTopic === kafkaAccepted ? 'yes' : `no (${kafkaAccepted} accepted)`,
      ...(options.cpuRounds > 0 ? await runCostCase(ctx, load, secret, options) : {}),
    };
  } finally {
    await load.stop();
    await baseline?.close();
    await ingest?.close();
    // Leave nothing behind on a broker the run does not own (KAFKA_BROKERS).
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteTopics(topicPlan({ prefix, partitions: 1 }).map((s) => s.name)))
      .catch((error: unknown) => logger.warn({ err: error, prefix }, 'could not delete the bench topics'))
      .finally(() => admin.disconnect());
  }
}
