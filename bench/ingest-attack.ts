// The attack of issue 24 on the built CLI's ingest, with the limits as shipped, for
// longer than the test does (BENCH_ATTACK_SECONDS, 90 by default): 16 connections
// announcing 24 MiB bodies, sending 23 MiB and stalling; 200 sending their headers a
// byte every 5 s; 500 sending nothing; each reopened a second after it is closed. A
// real signed workflow_job delivery a second meanwhile. Figures: ingest's resident
// memory (before, peak), the deliveries' latency, and how the server closed the hostile
// connections (how many, how long they lived, from the client side).
import { randomUUID } from 'node:crypto';
import { readIngestLimits } from '../ingest/config.js';
import { createKafka } from '../platform/kafka/index.js';
import { topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import {
  type AttackerProcess,
  attackWhileDelivering,
  type HostileKind,
  issueAttack,
} from '../test/support/attack.js';
import { freePort } from '../test/support/broker.js';
import { ensureBuilt, startCli, waitForHttp } from '../test/support/cli-process.js';
import { scrape } from '../test/support/exposition.js';
import { percentile } from './ingest-load.js';
import type { BenchContext, Figures } from './types.js';

export async function runIngestAttackBench(ctx: BenchContext): Promise<Figures> {
  const attackMs = Number(process.env.BENCH_ATTACK_SECONDS ?? 90) * 1000;
  const limits = readIngestLimits({});
  ensureBuilt();
  const prefix = `bench${randomUUID().slice(0, 8)}.`;
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'runstream-bench', logger: ctx.logger });
  await ensureTopics(kafka, topicPlan({ prefix, partitions: 3 }), -1, ctx.logger);
  const port = await freePort();
  const secret = `bench-${randomUUID()}`;
  const ingest = startCli(
    ['ingest'],
    {
      KAFKA_BROKERS: ctx.brokers.join(','),
      RUNSTREAM_TOPIC_PREFIX: prefix,
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_INGEST_PORT: String(port),
      RUNSTREAM_WEBHOOK_SECRET: secret,
      RUNSTREAM_LOG_LEVEL: 'warn',
    },
    { built: true },
  );
  let logLines = 0;
  ingest.child.stdout?.on('data', (chunk: Buffer) => {
    logLines += chunk.toString().split('\n').length - 1;
  });
  let attacker: AttackerProcess | undefined;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000, () => ingest.log());
    const { before, after, answered, connections } = await attackWhileDelivering({
      pid: ingest.child.pid!,
      secret,
      run: { plan: issueAttack(port, 'workflow_job'), attackMs, drainMs: limits.requestTimeoutMs + 5_000 },
      answerTimeoutMs: 10_000,
      onAttacker: (a) => {
        attacker = a;
      },
    });
    const latencies = answered.map((a) => a.latencyMs).sort((a, b) => a - b);
    const figures: Figures = {
      attack_s: attackMs / 1000,
      rss_before_mib: Math.round(before.rssMiB),
      rss_peak_mib: Math.round(after.peakMiB),
      deliveries: answered.length,
      deliveries_202: answered.filter((a) => a.status === 202).length,
      delivery_p50_ms: percentile(latencies, 50),
      delivery_p99_ms: percentile(latencies, 99),
      delivery_max_ms: latencies.at(-1) ?? Number.NaN,
      log_lines: logLines,
    };
    for (const kind of ['stalled_body', 'slow_headers', 'idle'] as HostileKind[]) {
      const mine = connections.filter((c) => c.kind === kind && c.connectedAt !== undefined);
      const lives = mine
        .filter((c) => !c.closedByClient && c.closedAt !== undefined)
        .map((c) => c.closedAt! - c.connectedAt!)
        .sort((a, b) => a - b);
      figures[`${kind}_connections`] = mine.length;
      figures[`${kind}_closed_by_server`] = lives.length;
      figures[`${kind}_life_p50_s`] = Math.round(percentile(lives, 50) / 100) / 10;
      figures[`${kind}_life_max_s`] = Math.round((lives.at(-1) ?? Number.NaN) / 100) / 10;
    }
    const metrics = await scrape(port);
    for (const line of metrics.split('\n')) {
      const match =
        /^runstream_ingest_(connections_closed_total\{reason="(\w+)"\}|deliveries_total\{event="(\w+)",result="(\w+)"\}) (\S+)$/.exec(
          line,
        );
      if (match?.[2]) figures[`closed_${match[2]}`] = Number(match[5]);
      else if (match?.[4]) figures[`deliveries_${match[3]}_${match[4]}`] = Number(match[5]);
    }
    return figures;
  } finally {
    attacker?.stop();
    await ingest.stop();
  }
}
