// Processor benchmark: one instance working through N deliveries (real payloads, ids
// rewritten so every copy is a distinct run; default 1M), then restore time of the
// resulting state; and restore of M entities (default 1M run and job states seeded
// straight into the changelogs) from the changelogs alone (cold) and from the local
// checkpoint plus a tail (warm). BENCH_PROCESSOR_ROUNDS (default 1) repeats the raw
// baseline and the processing over the same topic, each round from a cold start (new
// group, empty changelogs and state); rates are then medians, beside every round's.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { generateScenario } from '../demo/stream.js';
import { readInt } from '../platform/config.js';
import { createKafka, type Kafka } from '../platform/kafka.js';
import type { Logger } from '../platform/log.js';
import { endOffsets } from '../platform/partition-reader.js';
import { topicNames, topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { applyJob, applyRun, jobKey, runKey } from '../processor/core/state.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';
import { encodeJob, encodeRun } from '../schemas/changelog.js';
import { codecs } from '../schemas/codecs.js';
import { buildDelivery } from '../schemas/delivery.js';
import { freePort } from '../test/support/broker.js';
import { restoreCounts } from '../test/support/restores.js';
import { median } from './ingest.js';
import { cpuSecondsOf, memoryBreakdown, memoryOf } from './memory.js';
import { isReady } from './readiness.js';
import { removeBenchTopics } from './topics.js';
import type { BenchContext, Figures } from './types.js';

type Json = Record<string, unknown>;

function copyOf(payload: Json, event: string, offset: number): Json {
  if (event === 'workflow_run') {
    const run = payload.workflow_run as Json;
    return { ...payload, workflow_run: { ...run, id: (run.id as number) + offset } };
  }
  const job = payload.workflow_job as Json;
  return {
    ...payload,
    workflow_job: { ...job, id: (job.id as number) + offset * 10, run_id: (job.run_id as number) + offset },
  };
}

async function waitForCommitted(
  ctx: BenchContext,
  groupId: string,
  topic: string,
  timeoutMs: number,
): Promise<void> {
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-wait', logger: ctx.logger });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      if (ends.every((e) => (at.get(e.partition) ?? -1n) >= BigInt(e.high))) return;
      if (Date.now() > deadline) throw new Error(`processor did not finish within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

type Env = Record<string, string>;

/** Starts a processor on env's state and times it to ready (every partition restored). */
async function timeRestore(
  env: Env,
  logger: Logger,
): Promise<{ seconds: number; records: number; modes: string; peakRssMb: number }> {
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const t0 = performance.now();
  const handle = await startProcessor(readProcessorConfig(env), logger);
  while (handle.processor.readiness().ready === false) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const restores = await restoreCounts(handle.processor.metrics);
  await handle.close();
  return {
    seconds,
    records: restores.records,
    modes: (['checkpoint', 'full'] as const).filter((mode) => restores[mode] > 0).join(','),
    peakRssMb: Math.round(peakRss / 1e6),
  };
}

/** Run and job states as the core builds them, one run per four jobs, spread over partitions. */
function entityMessages(from: number, to: number, partitions: number): Map<'runs' | 'jobs', Message[]> {
  const runs: Message[] = [];
  const jobs: Message[] = [];
  for (let i = from; i < to; i++) {
    const runId = 9_000_000_000 + Math.floor(i / 5);
    const partition = Math.floor(i / 5) % partitions;
    const common = { runId, runAttempt: 1, repository: `org/repo-${i % 500}`, workflow: 'CI' };
    if (i % 5 === 0) {
      const run = applyRun(
        undefined,
        {
          kind: 'run',
          ...common,
          event: 'push',
          status: 'in_progress',
          conclusion: null,
          createdAt: 1_790_000_000_000 + i,
          runStartedAt: 1_790_000_000_000 + i,
          updatedAt: 1_790_000_000_000 + i,
        },
        1_790_000_000_000 + i,
      ).state;
      runs.push({ key: runKey(runId, 1), value: encodeRun(run), partition });
    } else {
      const job = applyJob(
        undefined,
        {
          kind: 'job',
          ...common,
          jobId: 90_000_000_000 + i,
          name: 'build',
          labels: `self-hosted,linux,x64,pool-${i % 40}`,
          runnerGroup: 'Default',
          runnerName: null,
          status: 'queued',
          conclusion: null,
          createdAt: 1_790_000_000_000 + i,
          startedAt: null,
          completedAt: null,
        },
        1_790_000_000_000 + i,
      ).state;
      jobs.push({ key: jobKey(job.jobId), value: encodeJob(job), partition });
    }
  }
  return new Map([
    ['runs', runs],
    ['jobs', jobs],
  ]);
}

/** Restore of `entities` run and job states: cold (empty disk), then warm (checkpoint + tail). */
async function entityRestore(ctx: BenchContext, entities: number, tail: number): Promise<Figures> {
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-restore', logger: ctx.logger });
  const prefix = `bench-restore-${Date.now()}.`;
  const names = topicNames(prefix);
  const plan = topicPlan({ prefix, partitions: 12 });
  await ensureTopics(kafka, plan, 1, ctx.logger);
  const stateDir = await mkdtemp(join(tmpdir(), 'runstream-bench-restore-'));
  const env: Env = {
    KAFKA_BROKERS: ctx.brokers.join(','),
    RUNSTREAM_TOPIC_PREFIX: prefix,
    RUNSTREAM_STATE_DIR: stateDir,
    RUNSTREAM_PROCESSOR_PORT: '0',
    RUNSTREAM_HOST: '127.0.0.1',
  };
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const seed = async (from: number, to: number) => {
    const pending: Promise<unknown>[] = [];
    for (let i = from; i < to; i += 10_000) {
      const batch = entityMessages(i, Math.min(to, i + 10_000), 12);
      pending.push(
        producer.sendBatch({
          acks: 1,
          topicMessages: [
            { topic: names.runsChangelog, messages: batch.get('runs')! },
            { topic: names.jobsChangelog, messages: batch.get('jobs')! },
          ],
        }),
      );
      if (pending.length >= 4) await pending.shift();
    }
    await Promise.all(pending);
  };
  try {
    await producer.connect();
    await seed(0, entities);
    const cold = await timeRestore(env, ctx.logger);
    await seed(entities, entities + tail);
    const warm = await timeRestore(env, ctx.logger);
    return {
      restore_entities: entities,
      restore_cold_seconds: Number(cold.seconds.toFixed(2)),
      restore_cold_records_read: cold.records,
      restore_cold_mode: cold.modes,
      restore_cold_peak_rss_mb: cold.peakRssMb,
      restore_warm_tail_entities: tail,
      restore_warm_seconds: Number(warm.seconds.toFixed(2)),
      restore_warm_records_read: warm.records,
      restore_warm_mode: warm.modes,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: plan.map((t) => t.name) }).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function runProcessorBench(ctx: BenchContext): Promise<Figures> {
  const count = Number(process.env.BENCH_PROCESSOR_DELIVERIES ?? 1_000_000);
  const entities = Number(process.env.BENCH_RESTORE_ENTITIES ?? 1_000_000);
  const rounds = readInt(process.env, 'BENCH_PROCESSOR_ROUNDS', 1, 1, 100);
  return {
    ...(await deliveriesBench(ctx, count, rounds)),
    ...(await entityRestore(ctx, entities, Math.min(10_000, Math.ceil(entities / 100)))),
  };
}

/**
 * Seconds a plain kafkajs consumer takes to decode and JSON.parse every delivery of a
 * topic: from run() (its group join included) and from its first batch.
 */
async function rawBaseline(
  ctx: BenchContext,
  topic: string,
  count: number,
  round: number,
): Promise<{ seconds: number; firstBatchSeconds: number }> {
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-baseline', logger: ctx.logger });
  const consumer = kafka.consumer({ groupId: `${topic}-baseline-${round}`, maxBytesPerPartition: 1_048_576 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const started = performance.now();
  let firstBatchAt: number | undefined;
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch }) => {
      firstBatchAt ??= performance.now();
      for (const message of batch.messages) {
        JSON.parse(codecs.delivery.decode(message.value!).body.toString('utf8'));
      }
      seen += batch.messages.length;
      if (seen >= count) done();
    },
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return { seconds, firstBatchSeconds: ((firstBatchAt ?? started) - started) / 1000 };
}

interface Round {
  baselineSeconds: number;
  /** Until the baseline's first batch (connect and group join). */
  baselineFirstBatchSeconds: number;
  /** CPU time of the baseline's consumer (this process, while it ran). */
  baselineCpuSeconds: number;
  seconds: number;
  /** Until the processor was ready (process start, group join, every partition restored). */
  readySeconds: number;
  /** CPU time of the processor process, start to finish. */
  cpuSeconds: number;
  peakRssMb: number;
  /** Where the memory is at the end, from the process's own metrics (MB). */
  breakdown: Figures;
}

/**
 * Process: one instance, the built CLI in its own process (so its memory is its own),
 * from a cold start to every offset of the topic committed by its group.
 */
async function processAll(
  ctx: BenchContext,
  env: Env,
  topic: string,
): Promise<Omit<Round, 'baselineSeconds' | 'baselineFirstBatchSeconds' | 'baselineCpuSeconds'>> {
  const metricsPort = await freePort();
  const started = performance.now();
  // BENCH_PROFILE_DIR: a V8 CPU profile of the processor process, to see where time goes.
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, join(import.meta.dirname, '..', 'bin', 'runstream.js'), 'processor'],
    {
      env: {
        ...process.env,
        ...env,
        RUNSTREAM_PROCESSOR_PORT: String(metricsPort),
        RUNSTREAM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let readyAt: number | undefined;
  const readiness = (async () => {
    while (readyAt === undefined && child.exitCode === null) {
      if (await isReady(metricsPort)) readyAt = performance.now();
      else await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await waitForCommitted(ctx, env.RUNSTREAM_PROCESSOR_GROUP!, topic, 30 * 60_000);
    await readiness;
    const peakRssMb = (await memoryOf(child.pid!)).peakMb;
    const cpuSeconds = await cpuSecondsOf(child.pid!);
    const breakdown = await memoryBreakdown(
      `http://127.0.0.1:${metricsPort}/metrics`,
      'processor',
      'memory_end',
    );
    return {
      seconds: (performance.now() - started) / 1000,
      readySeconds: ((readyAt ?? started) - started) / 1000,
      cpuSeconds,
      peakRssMb,
      breakdown,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** Between rounds: the changelogs deleted and made anew, and the state directory emptied. */
async function emptyChangelogs(
  kafka: Kafka,
  prefix: string,
  stateDir: string,
  logger: Logger,
): Promise<void> {
  const plan = topicPlan({ prefix, partitions: 12 });
  const changelogs = plan.map((t) => t.name).filter((name) => name !== topicNames(prefix).deliveries);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: changelogs });
    const deadline = Date.now() + 60_000;
    while ((await admin.listTopics()).some((name) => changelogs.includes(name))) {
      if (Date.now() > deadline) throw new Error('changelogs still listed 60 s after their deletion');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
  // A name just deleted can take a moment before it can be created again.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(kafka, plan, 1, logger);
      break;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await rm(stateDir, { recursive: true, force: true });
}

async function deliveriesBench(ctx: BenchContext, count: number, roundCount: number): Promise<Figures> {
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-processor', logger: ctx.logger });
  const prefix = `bench-processor-${Date.now()}.`;
  const names = topicNames(prefix);
  await ensureTopics(kafka, topicPlan({ prefix, partitions: 12 }), 1, ctx.logger);
  const stateDir = await mkdtemp(join(tmpdir(), 'runstream-bench-processor-'));
  const env: Env = {
    KAFKA_BROKERS: ctx.brokers.join(','),
    RUNSTREAM_TOPIC_PREFIX: prefix,
    RUNSTREAM_STATE_DIR: stateDir,
    RUNSTREAM_PROCESSOR_PORT: '0',
    RUNSTREAM_HOST: '127.0.0.1',
  };
  try {
    // Produce: templates from real payloads, each copy a distinct run with new ids.
    // Every run's last job left queued or running: at 1M deliveries about 100k jobs stay
    // active in the stores (a busy organisation's backlog); the others complete.
    const scenario = generateScenario({
      seed: 1,
      runs: 400,
      duplicateRate: 0,
      unfinishedRate: 1,
      startMs: Date.now() - 3_600_000,
    });
    const templates = scenario.deliveries;
    const activePerCopy = scenario.truth
      .flatMap((a) => a.jobs)
      .filter((j) => j.status !== 'completed').length;
    const activeJobs = Math.floor((count / templates.length) * activePerCopy);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const produceStarted = performance.now();
    let bytes = 0;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += 500) {
      const messages: Message[] = [];
      for (let j = i; j < Math.min(count, i + 500); j++) {
        const t = templates[j % templates.length]!;
        const copy = Math.floor(j / templates.length);
        const payload = copyOf(t.payload, t.event, copy * 1_000_000);
        const built = buildDelivery({
          id: `${t.id.slice(0, 24)}${String(j).padStart(12, '0')}`,
          event: t.event,
          body: Buffer.from(JSON.stringify(payload)),
          payload,
          receivedAt: Date.now(),
          source: 'replay',
          hookId: '1',
        });
        if ('error' in built) throw new Error(built.error);
        const value = codecs.delivery.encode(built.delivery);
        bytes += value.length;
        messages.push({ key: built.key, value });
      }
      pending.push(producer.send({ topic: names.deliveries, acks: 1, messages }));
      if (pending.length >= 4) await pending.shift();
    }
    await Promise.all(pending);
    await producer.disconnect();
    const produceSeconds = (performance.now() - produceStarted) / 1000;

    const rounds: Round[] = [];
    for (let round = 0; round < roundCount; round++) {
      if (round > 0) await emptyChangelogs(kafka, prefix, stateDir, ctx.logger);
      // The raw baseline, in the same run over the same topic: a plain kafkajs consumer
      // that decodes each envelope and parses its JSON body, and nothing else.
      const cpuBefore = process.cpuUsage();
      const baseline = await rawBaseline(ctx, names.deliveries, count, round);
      const cpu = process.cpuUsage(cpuBefore);
      const baselineCpuSeconds = (cpu.user + cpu.system) / 1e6;
      env.RUNSTREAM_PROCESSOR_GROUP = `${prefix}processor-${round}`;
      rounds.push({
        baselineSeconds: baseline.seconds,
        baselineFirstBatchSeconds: baseline.firstBatchSeconds,
        baselineCpuSeconds,
        ...(await processAll(ctx, env, names.deliveries)),
      });
    }
    const last = rounds.at(-1)!;
    const perRound = (figure: string, of: (r: Round) => number): Figures => ({
      [figure]: median(rounds.map(of)),
      ...(rounds.length > 1 ? { [`${figure}_rounds`]: rounds.map(of).join(' ') } : {}),
    });

    const changelogEnds = await endOffsets(kafka, [
      names.dedupeChangelog,
      names.runsChangelog,
      names.jobsChangelog,
      names.aggregatesChangelog,
    ]);
    const changelogRecords = [...changelogEnds.values()].reduce((n, v) => n + Number(v), 0);

    const warm = await timeRestore(env, ctx.logger);
    await rm(stateDir, { recursive: true, force: true });
    const cold = await timeRestore(env, ctx.logger);
    return {
      deliveries: count,
      payload_mb: Math.round(bytes / 1e6),
      produce_seconds: Number(produceSeconds.toFixed(1)),
      rounds: rounds.length,
      ...perRound('process_seconds', (r) => Number(r.seconds.toFixed(1))),
      // The rates and their ratio count from the first record each could read: the
      // processor once ready, the baseline from its first batch. Getting there (process
      // start, group join, restore; connect and join) is reported apart, and included
      // in the `_from_start` figures.
      ...perRound('process_startup_seconds', (r) => Number(r.readySeconds.toFixed(2))),
      ...perRound('raw_baseline_startup_seconds', (r) => Number(r.baselineFirstBatchSeconds.toFixed(2))),
      ...perRound('deliveries_per_s', (r) => Math.round(count / (r.seconds - r.readySeconds))),
      ...perRound('raw_baseline_per_s', (r) =>
        Math.round(count / (r.baselineSeconds - r.baselineFirstBatchSeconds)),
      ),
      ...perRound('ratio_to_raw_baseline', (r) =>
        Number(((r.baselineSeconds - r.baselineFirstBatchSeconds) / (r.seconds - r.readySeconds)).toFixed(2)),
      ),
      ...perRound('deliveries_per_s_from_start', (r) => Math.round(count / r.seconds)),
      ...perRound('ratio_to_raw_baseline_from_start', (r) =>
        Number((r.baselineSeconds / r.seconds).toFixed(2)),
      ),
      // CPU per delivery, of the processor and of the baseline's consumer (the broker's
      // is in neither): the cost, less sensitive than the rates to what else runs.
      ...perRound('process_cpu_us_per_delivery', (r) => Math.round((r.cpuSeconds * 1e6) / count)),
      ...perRound('raw_baseline_cpu_us_per_delivery', (r) =>
        Math.round((r.baselineCpuSeconds * 1e6) / count),
      ),
      active_jobs: activeJobs,
      ...perRound('process_peak_rss_mb', (r) => r.peakRssMb),
      ...last.breakdown,
      changelog_records: changelogRecords,
      warm_restore_seconds: Number(warm.seconds.toFixed(2)),
      warm_restore_records_read: warm.records,
      warm_restore_mode: warm.modes,
      cold_restore_seconds: Number(cold.seconds.toFixed(2)),
      cold_restore_records_read: cold.records,
      cold_restore_mode: cold.modes,
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
    await removeBenchTopics(kafka, prefix);
  }
}
