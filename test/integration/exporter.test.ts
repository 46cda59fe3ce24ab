// End to end through ingest, processor and exporter with real example payloads. The
// expected values are computed here, from the input alone, without the core.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../demo/send.js';
import { type GeneratedDelivery, generateStream } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import { readIngestConfig, startIngest } from '../../ingest/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { parseExposition, sampleKey, samplesByKey, scrape } from '../support/exposition.js';
import { brokers, createTestTopics, type TestTopics, testKafka, testLogger } from '../support/kafka.js';
import { waitForGroup } from '../support/publish.js';

const BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600];
const RANK: Record<string, number> = {
  requested: 0,
  pending: 0,
  queued: 0,
  waiting: 1,
  in_progress: 2,
  completed: 3,
};
type Json = Record<string, unknown>;
const seconds = (from: unknown, to: unknown) =>
  Math.max(0, Date.parse(String(to)) - Date.parse(String(from))) / 1000;

/** The metric values a correct pipeline must serve for this input, derived directly. */
function expectedMetrics(stream: readonly GeneratedDelivery[]): Map<string, number> {
  const unique = new Map(stream.map((d) => [d.id, d]));
  const latest = new Map<string, { rank: number; d: GeneratedDelivery }>();
  for (const d of unique.values()) {
    const inner = (d.event === 'workflow_run' ? d.payload.workflow_run : d.payload.workflow_job) as Json;
    const key = d.event === 'workflow_run' ? `run:${inner.id}:${inner.run_attempt}` : `job:${inner.id}`;
    const rank = RANK[String(inner.status)]!;
    if ((latest.get(key)?.rank ?? -1) < rank) latest.set(key, { rank, d });
  }
  const out = new Map<string, number>();
  const add = (name: string, labels: Record<string, string>, value: number) => {
    const key = sampleKey(name, labels);
    out.set(key, (out.get(key) ?? 0) + value);
  };
  const observe = (name: string, labels: Record<string, string>, value: number) => {
    add(`${name}_count`, labels, 1);
    add(`${name}_sum`, labels, value);
    for (const le of BUCKETS) add(`${name}_bucket`, { ...labels, le: String(le) }, value <= le ? 1 : 0);
    add(`${name}_bucket`, { ...labels, le: '+Inf' }, 1);
  };
  // Per run and job name, the attempts that failed and that succeeded (flaky jobs).
  const attempts = new Map<
    string,
    { labels: Record<string, string>; failed: number[]; succeeded: number[] }
  >();
  for (const { d } of latest.values()) {
    const repository = String((d.payload.repository as Json).full_name);
    if (d.event === 'workflow_run') {
      const run = d.payload.workflow_run as Json;
      const labels = { repository, workflow: String(run.name), event: String(run.event) };
      if (run.status === 'completed') {
        const done = { ...labels, conclusion: String(run.conclusion) };
        add('github_actions_workflow_runs_completed_total', done, 1);
        observe(
          'github_actions_workflow_run_duration_seconds',
          done,
          seconds(run.run_started_at, run.updated_at),
        );
      } else {
        add('github_actions_workflow_runs', { ...labels, status: String(run.status) }, 1);
      }
      continue;
    }
    const job = d.payload.workflow_job as Json;
    const labels = [...(job.labels as string[])].sort().join(',');
    const group = String(job.runner_group_name ?? '');
    const workflow = String(job.workflow_name);
    const ranOnRunner = job.runner_name !== null;
    if (ranOnRunner) {
      observe(
        'github_actions_job_queue_duration_seconds',
        { repository, runner_group: group, labels },
        seconds(job.created_at, job.started_at),
      );
    }
    if (job.status === 'in_progress') add('github_actions_runners_busy', { runner_group: group, labels }, 1);
    if (job.status === 'completed') {
      const conclusion = String(job.conclusion);
      const key = `${job.run_id}\u0000${job.name}`;
      const seen = attempts.get(key) ?? {
        labels: { repository, workflow, job_name: String(job.name) },
        failed: [],
        succeeded: [],
      };
      const attempt = Number(job.run_attempt ?? 1);
      if (conclusion === 'failure' || conclusion === 'timed_out') seen.failed.push(attempt);
      if (conclusion === 'success') seen.succeeded.push(attempt);
      attempts.set(key, seen);
      add(
        'github_actions_jobs_completed_total',
        { repository, workflow, runner_group: group, labels, conclusion },
        1,
      );
      if (ranOnRunner) {
        observe(
          'github_actions_job_duration_seconds',
          { repository, workflow, conclusion },
          seconds(job.started_at, job.completed_at),
        );
      }
    } else {
      add(
        'github_actions_jobs',
        { repository, workflow, runner_group: group, labels, status: String(job.status) },
        1,
      );
      if (job.status === 'queued') {
        // Demand per pool, no pools configured: a queued job's labels are its pool.
        add('github_actions_pool_queued_jobs', { pool: labels }, 1);
        const key = sampleKey('github_actions_job_oldest_queued_timestamp_seconds', {
          runner_group: group,
          labels,
        });
        const createdAt = Date.parse(String(job.created_at)) / 1000;
        out.set(key, Math.min(out.get(key) ?? Number.POSITIVE_INFINITY, createdAt));
      }
    }
  }
  for (const { labels, failed, succeeded } of attempts.values()) {
    if (failed.some((f) => succeeded.some((s) => s > f))) add('github_actions_jobs_flaky_total', labels, 1);
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('exporter end to end', () => {
  let topics: TestTopics;
  let stateDir: string;
  const handles: RoleHandle[] = [];
  let ingestPort = 0;
  let env: Record<string, string>;

  beforeAll(async () => {
    topics = await createTestTopics(3);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-e2e-'));
    env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_WEBHOOK_SECRET: 'e2e-secret',
      RUNSTREAM_INGEST_PORT: '0',
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      // The generated stream has fixed dates; housekeeping must not expire it mid-test.
      RUNSTREAM_HOUSEKEEPING_INTERVAL: '1h',
    };
    handles.push(await startProcessor(readProcessorConfig(env), testLogger));
    const ingest = await startIngest(readIngestConfig(env), testLogger);
    handles.push(ingest);
    ingestPort = ingest.port;
  });
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function send(stream: readonly GeneratedDelivery[]): Promise<void> {
    for (const d of stream) {
      const body = Buffer.from(JSON.stringify(d.payload));
      const response = await fetch(`http://127.0.0.1:${ingestPort}/webhook`, {
        method: 'POST',
        headers: signedHeaders(d, body, 'e2e-secret'),
        body,
      });
      expect(response.status).toBe(202);
    }
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
  }

  it('serves every family with the values the input implies, identically on two pods, across a restart', async () => {
    const stream = generateStream({ seed: 2026, runs: 40, rerunFailedRate: 0.5 });
    await send(stream);
    const expected = expectedMetrics(stream);

    const first = await startExporter(readExporterConfig(env), testLogger);
    handles.push(first);
    const second = await startExporter(readExporterConfig(env), testLogger);
    handles.push(second);
    await first.exporter.waitUntilCaughtUp(60_000);
    await second.exporter.waitUntilCaughtUp(60_000);

    const served = samplesByKey(parseExposition(await scrape(first.port)), 'github_actions_');
    for (const family of [
      'github_actions_workflow_runs',
      'github_actions_jobs',
      'github_actions_workflow_runs_completed_total',
      'github_actions_jobs_completed_total',
      'github_actions_job_queue_duration_seconds_count',
      'github_actions_job_duration_seconds_count',
      'github_actions_workflow_run_duration_seconds_count',
      'github_actions_job_oldest_queued_timestamp_seconds',
      'github_actions_runners_busy',
      'github_actions_jobs_flaky_total',
    ]) {
      expect(
        [...served.keys()].some((k) => k.startsWith(`${family}{`)),
        `${family} served`,
      ).toBe(true);
    }
    // Every expected non-zero value is served exactly; every other served gauge is 0.
    for (const [key, value] of expected) expect({ key, value: served.get(key) }).toEqual({ key, value });
    for (const [key, value] of served) {
      if (expected.has(key)) continue;
      expect({ key, value }).toEqual({ key, value: 0 });
    }
    const oldest = [...expected.keys()].filter((k) =>
      k.startsWith('github_actions_job_oldest_queued_timestamp_seconds{'),
    );
    expect(oldest.length, 'the stream leaves some jobs queued').toBeGreaterThan(0);

    // Two pods agree on every line.
    const lines = async (port: number) =>
      (await scrape(port))
        .split('\n')
        .filter((l) => l.startsWith('github_actions_'))
        .sort();
    const firstLines = await lines(first.port);
    expect(await lines(second.port)).toEqual(firstLines);
    expect(firstLines.length).toBeGreaterThan(100);

    // A restarted exporter serves the same counters (no reset).
    await first.close();
    handles.splice(handles.indexOf(first), 1);
    const restarted = await startExporter(readExporterConfig(env), testLogger);
    handles.push(restarted);
    await restarted.exporter.waitUntilCaughtUp(60_000);
    expect(await lines(restarted.port)).toEqual(firstLines);

    // gzip when asked.
    const gz = await fetch(`http://127.0.0.1:${restarted.port}/metrics`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
  });

  it('shows 0 for a label set whose jobs all completed', async () => {
    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    const stream = generateStream({
      seed: 99,
      runs: 1,
      maxJobsPerRun: 1,
      duplicateRate: 0,
      disorderRate: 0,
      unfinishedRate: 0,
      firstRunId: 9_100_000_000,
    });
    const job = stream.filter((d) => d.event === 'workflow_job');
    const queued = job.filter((d) => d.action === 'queued');
    await send(queued);
    const payload = queued[0]!.payload.workflow_job as Json;
    const repository = String((queued[0]!.payload.repository as Json).full_name);
    const key = sampleKey('github_actions_jobs', {
      repository,
      workflow: String(payload.workflow_name),
      runner_group: '',
      labels: [...(payload.labels as string[])].sort().join(','),
      status: 'queued',
    });
    await waitFor('queued job in the gauge', async () =>
      samplesByKey(parseExposition(await scrape(exporter.port)), 'github_actions_jobs').get(key)
        ? true
        : undefined,
    );
    await send(job.filter((d) => d.action !== 'queued'));
    const value = await waitFor('gauge back to 0', async () => {
      const v = samplesByKey(parseExposition(await scrape(exporter.port)), 'github_actions_jobs').get(key);
      return v === 0 ? v : undefined;
    });
    expect(value).toBe(0);
  });

  it('skips and counts a malformed changelog record and keeps serving', async () => {
    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    await exporter.exporter.waitUntilCaughtUp(60_000);
    const producer = testKafka().recordProducer();
    await producer.connect();
    await producer.send([
      {
        topic: topics.names.aggregatesChangelog,
        records: [{ key: '0|github_actions_jobs["x"]', value: Buffer.from('not avro at all'), partition: 0 }],
      },
    ]);
    await producer.disconnect();
    const count = await waitFor('invalid record counted', async () => {
      const samples = parseExposition(await scrape(exporter.port));
      const s = samples.find(
        (x) => x.name === 'runstream_exporter_invalid_records_total' && x.labels.topic === 'aggregates',
      );
      return s?.value ? s.value : undefined;
    });
    expect(count).toBe(1);
    // Still serving, and still applying what comes after it.
    await send(generateStream({ seed: 5, runs: 2, firstRunId: 9_200_000_000 }));
    const text = await scrape(exporter.port);
    expect(text).toContain('github_actions_jobs_completed_total{');
    expect((await fetch(`http://127.0.0.1:${exporter.port}/readyz`)).status).toBe(200);
  });

  it('serves no github_actions_ series until its view has caught up', async () => {
    // Tombstones for keys the view never held give it a long changelog to read without
    // changing any value, so scrapes can land while it is still reading.
    const producer = testKafka().recordProducer();
    await producer.connect();
    for (let chunk = 0; chunk < 20; chunk++) {
      await producer.send([
        {
          topic: topics.names.aggregatesChangelog,
          records: Array.from({ length: 5000 }, (_, i) => ({
            key: `1|never-held-${chunk}-${i}`,
            value: null,
            partition: 1,
          })),
        },
      ]);
    }
    await producer.disconnect();

    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    // The gauge is rendered after the handler decided whether to serve the view, and
    // only ever goes 0 -> 1, so a scrape showing 0 was decided before the catch-up.
    let whileReading = 0;
    while (!exporter.exporter.isCaughtUp) {
      const text = await scrape(exporter.port);
      if (!text.includes('\nrunstream_exporter_view_caught_up 0')) continue;
      whileReading++;
      expect(text).toContain('runstream_exporter_view_lag_records');
      expect(text).not.toMatch(/^(# (HELP|TYPE) )?github_actions_/m);
    }
    const text = await scrape(exporter.port);
    expect(text).toContain('\nrunstream_exporter_view_caught_up 1');
    expect(text).toContain('github_actions_jobs_completed_total{');
    expect((await fetch(`http://127.0.0.1:${exporter.port}/readyz`)).status).toBe(200);
    expect(whileReading).toBeGreaterThan(0);
  });
});
