// Replay throughput: from an archive into a real broker, and from the (fake) GitHub
// delivery log at 50 ms latency, sequential versus batched fetches.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStream } from '../demo/stream.js';
import { TokenAuth } from '../github/auth.js';
import { HttpClient } from '../github/http.js';
import { GitHubRestClient } from '../github/rest.js';
import { DeliveryPublisher } from '../ingest/publisher.js';
import { createKafka } from '../platform/kafka/index.js';
import { topicNames, topicPlan } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import type { ArchiveLine } from '../replay/archive.js';
import { replayFile } from '../replay/file.js';
import { replayFromGitHub } from '../replay/github.js';
import { FakeGitHub } from '../test/support/fake-github.js';
import { removeBenchTopics } from './topics.js';
import type { BenchContext, Figures } from './types.js';

const ARCHIVE_DELIVERIES = 50_000;
const LOG_DELIVERIES = 300;

export async function runReplayBench(ctx: BenchContext): Promise<Figures> {
  const kafka = createKafka({ brokers: ctx.brokers, clientId: 'bench-replay', logger: ctx.logger });
  const prefix = `bench-replay-${Date.now()}.`;
  await ensureTopics(kafka, topicPlan({ prefix, partitions: 12 }), 1, ctx.logger);
  const topic = topicNames(prefix).deliveries;
  const publisher = new DeliveryPublisher({
    kafka,
    topic,
    logger: ctx.logger,
    sendTimeoutMs: 60_000,
    maxQueuedBytes: Number.POSITIVE_INFINITY,
  });
  const dir = await mkdtemp(join(tmpdir(), 'runstream-bench-replay-'));
  try {
    // Archive: generated from real payloads, each line a unique delivery.
    const templates = generateStream({ seed: 9, runs: 200 });
    const lines: string[] = [];
    for (let i = 0; i < ARCHIVE_DELIVERIES; i++) {
      const d = templates[i % templates.length]!;
      const id = `${d.id.slice(0, 24)}${String(i).padStart(12, '0')}`;
      const line: ArchiveLine = {
        id,
        event: d.event,
        headers: { 'x-github-delivery': id, 'x-github-event': d.event },
        receivedAt: new Date().toISOString(),
        body: JSON.stringify(d.payload),
      };
      lines.push(JSON.stringify(line));
    }
    const archive = join(dir, 'archive.ndjson');
    await writeFile(archive, `${lines.join('\n')}\n`);
    const started = performance.now();
    const counts = await replayFile({ path: archive, publisher, report: () => undefined });
    const archiveSeconds = (performance.now() - started) / 1000;

    const fromLog = async (concurrency: number) => {
      const fake = await new FakeGitHub({ deliveries: LOG_DELIVERIES, latencyMs: 50 }).start();
      try {
        const client = new GitHubRestClient(
          new HttpClient({ concurrency }),
          new TokenAuth('bench'),
          fake.url,
        );
        const t0 = performance.now();
        const result = await replayFromGitHub({
          client,
          hook: { kind: 'repo', owner: 'o', repo: 'r', hookId: 1 },
          publisher,
          report: () => undefined,
        });
        const seconds = (performance.now() - t0) / 1000;
        return { seconds, sent: result.sent, requests: fake.requests.length };
      } finally {
        await fake.stop();
      }
    };
    const sequential = await fromLog(1);
    const batched = await fromLog(10);
    return {
      archive_deliveries: counts.sent,
      archive_seconds: Number(archiveSeconds.toFixed(2)),
      archive_deliveries_per_s: Math.round(counts.sent / archiveSeconds),
      log_deliveries_listed: LOG_DELIVERIES,
      log_latency_ms: 50,
      log_sequential_sent: sequential.sent,
      log_sequential_per_s: Number((sequential.sent / sequential.seconds).toFixed(1)),
      log_batched_c10_per_s: Number((batched.sent / batched.seconds).toFixed(1)),
      log_speedup: Number((sequential.seconds / batched.seconds).toFixed(2)),
      log_requests_per_run: batched.requests,
    };
  } finally {
    await publisher.close();
    await rm(dir, { recursive: true, force: true });
    await removeBenchTopics(kafka, prefix);
  }
}
