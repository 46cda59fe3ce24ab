// Demand per runner pool (runner-labels mode) and the last-received time through the real
// roles: processors and two exporters on the shared broker, the demo's stream and real
// example payloads (a group-targeted job with and without its group, jobs waiting for an
// approval, labels in another case), receive times out of order and redeliveries. What
// /metrics and /demand serve equals the independent oracle (test/support/oracle.ts),
// identically on both exporters.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedDelivery, generateScenario } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { brokers, createTestTopics, type TestTopics, testKafka, testLogger } from '../support/kafka.js';
import {
  type DemandJob,
  expectedLastReceived,
  expectedPoolDemand,
  type OraclePool,
} from '../support/oracle.js';
import { publishDeliveries, waitForGroup } from '../support/publish.js';
import { example, examples, retimed } from '../support/webhooks.js';

const POOLS: readonly OraclePool[] = [
  { name: 'linux', runnerLabels: ['Self-Hosted', 'Linux', 'X64'] },
  { name: 'linux-gpu', runnerLabels: ['self-hosted', 'linux', 'x64', 'gpu'] },
  { name: 'hosted', runnerLabels: ['ubuntu-latest'] },
  { name: 'idle', runnerLabels: ['self-hosted', 'never-used'] },
];

type Json = Record<string, unknown>;

/** A real example job payload as a new job (own ids), retimed to now, with these fields. */
function exampleJob(action: string, n: number, fields: Json, status?: string): GeneratedDelivery {
  const real = status
    ? examples('workflow_job', action).find((e) => (e.workflow_job as Json).status === status)!
    : example('workflow_job', action);
  const payload = retimed(real, Date.now() - 60_000);
  const job = payload.workflow_job as Json;
  Object.assign(job, { id: 8_800_000_000 + n, run_id: 8_700_000_000 + n, run_attempt: 1, ...fields });
  return {
    id: `0000dead-0000-4000-8000-${String(n).padStart(12, '0')}`,
    event: 'workflow_job',
    action,
    payload,
  };
}

describe('demand per pool and last-received time end to end', () => {
  let topics: TestTopics;
  let stateDir: string;
  const handles: RoleHandle[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    topics = await createTestTopics(3);
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-demand-'));
    env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_HOUSEKEEPING_INTERVAL: '1h',
      RUNSTREAM_RUNNER_POOLS_MODE: 'runner-labels',
      RUNSTREAM_RUNNER_POOLS: POOLS.map((p) => `${p.name}=${p.runnerLabels.join(',')}`).join(';'),
    };
    handles.push(await startProcessor(readProcessorConfig(env), testLogger));
  });
  afterAll(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serves what the oracle computes, on two exporters, and the same numbers as JSON', async () => {
    const { deliveries, truth } = generateScenario({
      seed: 28,
      runs: 40,
      unfinishedRate: 0.8,
      duplicateRate: 0.2,
      firstRunId: 8_000_000_000,
    });
    // Real payloads for what the demo does not make. The oracle's view of each job:
    const extra: Array<{ delivery: GeneratedDelivery; job: DemandJob }> = [
      {
        delivery: exampleJob('queued', 1, { labels: [], runner_group_name: 'big-iron', runner_group_id: 7 }),
        job: { labels: [], runnerGroup: 'big-iron', status: 'queued' },
      },
      {
        delivery: exampleJob('queued', 2, { labels: [], runner_group_name: null, runner_group_id: null }),
        job: { labels: [], runnerGroup: null, status: 'queued' },
      },
      {
        delivery: exampleJob('queued', 3, { labels: ['LINUX', 'self-HOSTED'], runner_group_name: null }),
        job: { labels: ['LINUX', 'self-HOSTED'], runnerGroup: null, status: 'queued' },
      },
      // The examples of a job waiting for an environment's approval: a `waiting` action, and
      // a `queued` action whose status is already waiting.
      {
        delivery: exampleJob('waiting', 4, {}),
        job: { labels: ['self-hosted', 'k8s'], runnerGroup: null, status: 'waiting' },
      },
      {
        delivery: exampleJob('queued', 5, { labels: ['self-hosted', 'linux'] }, 'waiting'),
        job: { labels: ['self-hosted', 'linux'], runnerGroup: null, status: 'waiting' },
      },
    ];
    expect((extra[4]!.delivery.payload.workflow_job as Json).status).toBe('waiting');
    const all = [...deliveries, ...extra.map((e) => e.delivery)];
    // Receive times out of order (a redelivery arrives long after), all within the last hour.
    const base = Date.now() - 3_600_000;
    const receivedAt = new Map(all.map((d, i) => [d, base + ((i * 7919) % 3001) * 1000 + 17]));
    await publishDeliveries(testKafka(), topics.names.deliveries, all, 200, (d) => receivedAt.get(d)!);
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);

    const demand = expectedPoolDemand(
      truth,
      POOLS,
      extra.map((e) => e.job),
    );
    for (const pool of ['linux', 'linux-gpu', '(unmatched)', '(unlabelled)', 'group:big-iron']) {
      expect(demand.get(`github_actions_pool_queued_jobs{pool="${pool}"}`), pool).toBeGreaterThan(0);
    }
    const received = expectedLastReceived(
      all.map((d) => ({
        repository: (d.payload.repository as { full_name: string }).full_name,
        receivedAtMs: receivedAt.get(d)!,
      })),
    );

    const first = await startExporter(readExporterConfig(env), testLogger);
    handles.push(first);
    const second = await startExporter(readExporterConfig(env), testLogger);
    handles.push(second);
    await first.exporter.waitUntilCaughtUp(60_000);
    await second.exporter.waitUntilCaughtUp(60_000);

    const text = await scrape(first.port);
    const pools = samplesByKey(parseExposition(text), 'github_actions_pool_queued_jobs');
    const nonZero = new Map([...pools].filter(([, v]) => v !== 0));
    expect(nonZero).toEqual(demand);
    // A configured pool none of whose jobs was ever queued is served, at 0.
    expect(pools.get('github_actions_pool_queued_jobs{pool="idle"}')).toBe(0);
    expect(samplesByKey(parseExposition(text), 'runstream_delivery_')).toEqual(received);

    const lines = async (port: number) =>
      (await scrape(port))
        .split('\n')
        .filter((l) => l.startsWith('github_actions_pool_') || l.startsWith('runstream_delivery_'))
        .sort();
    expect(await lines(second.port)).toEqual(await lines(first.port));

    // The JSON for KEDA's metrics-api scaler: the same numbers; an unknown pool is an error.
    const json = async (query: string) => {
      const response = await fetch(`http://127.0.0.1:${second.port}/demand${query}`);
      return { status: response.status, body: (await response.json()) as Json };
    };
    const everyPool = await json('');
    expect(everyPool.status).toBe(200);
    for (const [key, value] of pools) {
      const pool = /pool="(.*)"/.exec(key)![1]!;
      expect((everyPool.body.pools as Json)[pool], pool).toBe(value);
    }
    expect(await json('?pool=linux')).toEqual({
      status: 200,
      body: { pool: 'linux', queued: demand.get('github_actions_pool_queued_jobs{pool="linux"}') },
    });
    expect(await json('?pool=idle')).toEqual({ status: 200, body: { pool: 'idle', queued: 0 } });
    expect((await json('?pool=lniux')).status).toBe(404);
  });
});
