// Verify benchmark: N deliveries (real payloads through the demo generator; default 200k,
// BENCH_VERIFY_DELIVERIES) processed by one processor (the built CLI, from a cold start to
// every offset committed), then `runstream verify --json` (the built CLI) over the same
// topics: its rate beside the processor's on the same machine, its peak memory and CPU,
// and what it compared (it must find no difference). Both rates count from process start.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GeneratedDelivery, generateStream } from '../demo/stream.js';
import { DeliveryPublisher } from '../ingest/publisher.js';
import { createKafka } from '../platform/kafka/index.js';
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { topicNames, topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import type { VerifyReport } from '../processor/verify.js';
import { buildDelivery } from '../schemas/delivery.js';
import { cpuSecondsOf, memoryOf } from './memory.js';
import { removeBenchTopics } from './topics.js';
import type { BenchContext, Figures } from './types.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'runstream.js');

/** Publishes generated deliveries as ingest does (the same envelope, key and producer). */
async function publish(
  kafka: KafkaPort,
  topic: string,
  logger: Logger,
  deliveries: readonly GeneratedDelivery[],
) {
  const publisher = new DeliveryPublisher({ kafka, topic, logger, sendTimeoutMs: 60_000 });
  try {
    for (let i = 0; i < deliveries.length; i += 1000) {
      await publisher.publish(
        deliveries.slice(i, i + 1000).map((d) => {
          const built = buildDelivery({
            id: d.id,
            event: d.event,
            body: Buffer.from(JSON.stringify(d.payload)),
            payload: d.payload,
            receivedAt: Date.now(),
            source: 'webhook',
            hookId: '1',
            installationTargetType: 'repository',
            installationTargetId: '1',
          });
          if ('error' in built) throw new Error(`generated ${d.event} ${d.id}: ${built.error}`);
          return built;
        }),
      );
    }
  } finally {
    await publisher.close();
  }
}

/** Resolves once the group committed the end of every partition of the topic. */
async function waitForGroup(
  kafka: KafkaPort,
  groupId: string,
  topic: string,
  timeoutMs: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      const [ends, committed] = await Promise.all([
        admin.partitionOffsets(topic),
        admin.committedOffsets(groupId, topic),
      ]);
      const at = new Map(committed.map((p) => [p.partition, p.offset]));
      if (ends.every((e) => e.high === 0n || (at.get(e.partition) ?? -1n) >= e.high)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`group ${groupId} did not finish ${topic} within ${timeoutMs} ms`);
  } finally {
    await admin.disconnect();
  }
}

/** Runs the built CLI to its exit, sampling its peak memory and CPU before it ends. */
async function runToExit(
  args: string[],
  env: Record<string, string>,
  until?: () => Promise<void>,
): Promise<{ seconds: number; peakRssMb: number; cpuSeconds: number; stdout: string; code: number | null }> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, RUNSTREAM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  let peakRssMb = 0;
  let cpuSeconds = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sample = async () => {
    try {
      // An exited (zombie) process has no memory lines: keep the last figures read.
      const { peakMb } = await memoryOf(child.pid!);
      if (Number.isFinite(peakMb)) peakRssMb = Math.max(peakRssMb, peakMb);
      const cpu = await cpuSecondsOf(child.pid!);
      if (Number.isFinite(cpu) && cpu > 0) cpuSeconds = cpu;
    } catch {}
  };
  const sampler = setInterval(() => void sample(), 100);
  try {
    if (until) {
      await until();
      await sample();
      const seconds = (performance.now() - started) / 1000;
      child.kill('SIGTERM');
      const code = await exited;
      return { seconds, peakRssMb, cpuSeconds, stdout, code };
    }
    const code = await exited;
    return { seconds: (performance.now() - started) / 1000, peakRssMb, cpuSeconds, stdout, code };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function runVerifyBench(ctx: BenchContext): Promise<Figures> {
  const wanted = Number(process.env.BENCH_VERIFY_DELIVERIES ?? 200_000);
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-verify', logger: ctx.logger });
  const prefix = `bench-verify-${Date.now()}.`;
  const plan = topicPlan({ prefix, partitions: 12 });
  await ensureTopics(kafka, plan, 1, ctx.logger);
  const stateDir = await mkdtemp(join(tmpdir(), 'runstream-bench-verify-'));
  const env = {
    KAFKA_BROKERS: ctx.brokers.join(','),
    RUNSTREAM_TOPIC_PREFIX: prefix,
    RUNSTREAM_STATE_DIR: stateDir,
    RUNSTREAM_HOST: '127.0.0.1',
    RUNSTREAM_PROCESSOR_PORT: '0',
  };
  try {
    // Recent runs, so nothing is past its max age and every gauge is compared too.
    const stream: ReturnType<typeof generateStream> = [];
    for (let seed = 1; stream.length < wanted; seed++) {
      // Every seed's runs (and so jobs) numbered apart from the others'.
      const firstRunId = 7_000_000_000 + seed * 1_000_000;
      stream.push(...generateStream({ seed, runs: 500, firstRunId, startMs: Date.now() - 3 * 3_600_000 }));
    }
    const deliveries = stream.slice(0, wanted);
    await publish(kafka, topicNames(prefix).deliveries, ctx.logger, deliveries);

    const processor = await runToExit(['processor'], env, () =>
      waitForGroup(kafka, `${prefix}processor`, topicNames(prefix).deliveries, 60 * 60_000),
    );
    const verify = await runToExit(['verify', '--json'], env);
    if (verify.code !== 0) throw new Error(`verify exited ${verify.code}: ${verify.stdout.slice(0, 2000)}`);
    const report = JSON.parse(verify.stdout) as VerifyReport;
    const processorRate = report.deliveries / processor.seconds;
    const verifyRate = report.deliveries / verify.seconds;
    return {
      verify_deliveries: report.deliveries,
      processor_seconds: Number(processor.seconds.toFixed(1)),
      processor_deliveries_per_s: Math.round(processorRate),
      processor_cpu_seconds: Number(processor.cpuSeconds.toFixed(1)),
      verify_seconds: Number(verify.seconds.toFixed(1)),
      verify_deliveries_per_s: Math.round(verifyRate),
      verify_cpu_seconds: Number(verify.cpuSeconds.toFixed(1)),
      verify_cut_seconds: Number((report.phasesMs.cut / 1000).toFixed(1)),
      verify_recompute_seconds: Number((report.phasesMs.recompute / 1000).toFixed(1)),
      verify_vs_processor_rate: Number((verifyRate / processorRate).toFixed(2)),
      verify_peak_rss_mb: verify.peakRssMb,
      processor_peak_rss_mb: processor.peakRssMb,
      verify_series_compared: report.series.compared,
      verify_differences: report.series.different + report.series.onlyLive + report.series.onlyRecomputed,
    };
  } finally {
    await removeBenchTopics(kafka, prefix).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}
