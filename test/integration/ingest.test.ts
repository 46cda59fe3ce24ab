import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestConfig, readIngestConfig, startIngest } from '../../ingest/main.js';
import { createKafka } from '../../platform/kafka/index.js';
import type { RoleHandle } from '../../platform/role.js';
import { topicPlan } from '../../platform/topics.js';
import { ensureTopics } from '../../platform/topics-admin.js';
import { codecs } from '../../schemas/codecs.js';
import { type JarBroker, startJarBroker } from '../support/broker.js';
import { brokers, createTestTopics, readTopic, type TestTopics, testLogger } from '../support/kafka.js';
import { example, signatureOf, signedRequest } from '../support/webhooks.js';

const require = createRequire(import.meta.url);
// kafkajs' default partitioner is Java-compatible murmur2; the expected partition is
// computed the way the Java client does it.
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string) => number;
const javaPartition = (key: string, partitions: number) => (murmur2(key) & 0x7fffffff) % partitions;

function ingestConfig(topics: TestTopics, brokerList: string[]): IngestConfig {
  return {
    ...readIngestConfig({
      KAFKA_BROKERS: brokerList.join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: String(topics.partitions),
      RUNSTREAM_WEBHOOK_SECRET: 'first-secret,second-secret',
    }),
    logLevel: 'silent',
    port: 0,
    host: '127.0.0.1',
  };
}

async function post(port: number, headers: Record<string, string>, body: Buffer): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/webhook`, { method: 'POST', headers, body });
}

describe('ingest against a real broker', () => {
  let topics: TestTopics;
  let ingest: RoleHandle;

  beforeAll(async () => {
    topics = await createTestTopics(6);
    ingest = await startIngest(ingestConfig(topics, brokers()), testLogger);
  });
  afterAll(async () => {
    await ingest?.close();
  });

  it('accepts real signed payloads onto the run partition, byte-identical, and refuses the rest', async () => {
    const accepted: Array<{ id: string; runId: number; body: Buffer; at: unknown }> = [];
    for (const [event, action, secret] of [
      ['workflow_job', 'queued', 'first-secret'],
      ['workflow_run', 'completed', 'second-secret'],
    ] as const) {
      const payload = example(event, action);
      const request = await signedRequest(event, payload, secret);
      const response = await post(ingest.port, request.headers, request.body);
      expect(response.status).toBe(202);
      const answer = (await response.json()) as { partition: number; offset: string };
      const runId =
        event === 'workflow_job'
          ? (payload.workflow_job as { run_id: number }).run_id
          : (payload.workflow_run as { id: number }).id;
      accepted.push({
        id: request.headers['x-github-delivery']!,
        runId,
        body: request.body,
        at: { partition: answer.partition, offset: answer.offset },
      });
    }

    const job = example('workflow_job', 'in_progress');
    const refusals: Array<[string, Promise<Response>, number]> = [];
    const bad = await signedRequest('workflow_job', job, 'not-configured');
    refusals.push(['bad signature', post(ingest.port, bad.headers, bad.body), 401]);
    const unsigned = await signedRequest('workflow_job', job, 'first-secret');
    delete unsigned.headers['x-hub-signature-256'];
    refusals.push(['missing signature', post(ingest.port, unsigned.headers, unsigned.body), 401]);
    const noDelivery = await signedRequest('workflow_job', job, 'first-secret');
    delete noDelivery.headers['x-github-delivery'];
    refusals.push(['missing delivery', post(ingest.port, noDelivery.headers, noDelivery.body), 400]);
    const noEvent = await signedRequest('workflow_job', job, 'first-secret');
    delete noEvent.headers['x-github-event'];
    refusals.push(['missing event', post(ingest.port, noEvent.headers, noEvent.body), 400]);
    const brokenBody = Buffer.from('{"action":"queued","workflow_job":');
    const broken = await signedRequest('workflow_job', job, 'first-secret');
    refusals.push([
      'malformed JSON',
      post(
        ingest.port,
        { ...broken.headers, 'x-hub-signature-256': await signatureOf('first-secret', brokenBody) },
        brokenBody,
      ),
      400,
    ]);
    const huge = Buffer.alloc(25 * 1024 * 1024 + 1, 0x20);
    refusals.push(['over 25 MB', post(ingest.port, broken.headers, huge), 413]);
    const push = await signedRequest('push', { ref: 'refs/heads/main' }, 'first-secret');
    refusals.push(['unknown event', post(ingest.port, push.headers, push.body), 202]);
    const ping = await signedRequest('ping', { zen: 'Design for failure.', hook_id: 4242 }, 'second-secret');
    refusals.push(['ping', post(ingest.port, ping.headers, ping.body), 200]);
    for (const [name, response, status] of refusals) {
      expect({ name, status: (await response).status }).toEqual({ name, status });
    }

    const records = await readTopic(topics.names.deliveries);
    expect(records).toHaveLength(accepted.length);
    for (const expected of accepted) {
      const found = records.find((r) => codecs.delivery.decode(r.message.value!).id === expected.id);
      expect(found, `delivery ${expected.id}`).toBeDefined();
      const delivery = codecs.delivery.decode(found!.message.value!);
      expect(found!.message.key?.toString()).toBe(String(expected.runId));
      expect(found!.partition).toBe(javaPartition(String(expected.runId), topics.partitions));
      // The 202 says where the delivery is.
      expect(expected.at).toEqual({ partition: found!.partition, offset: found!.message.offset });
      expect(delivery.body.equals(expected.body)).toBe(true);
      expect(delivery.source).toBe('webhook');
      expect(delivery.runId).toBe(expected.runId);
    }

    const metrics = await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
    expect(metrics).toMatch(/runstream_ingest_deliveries_total\{event="workflow_job",result="accepted"\} 1/);
    expect(metrics).toMatch(
      /runstream_ingest_deliveries_total\{event="workflow_job",result="bad_signature"\} 2/,
    );
    expect(metrics).toMatch(/runstream_ingest_deliveries_total\{event="other",result="ignored"\} 1/);
    expect(metrics).not.toContain('first-secret');
  });

  it('serves health and readiness', async () => {
    expect((await fetch(`http://127.0.0.1:${ingest.port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${ingest.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('kafka reachable');
  });
});

// This test stops and restarts a broker, so it runs its own (never a shared one).
describe('ingest while the broker is down', () => {
  let broker: JarBroker | undefined;
  let ingest: RoleHandle | undefined;

  beforeAll(async () => {
    broker = await startJarBroker('runstream-outage-');
  });
  afterAll(async () => {
    await ingest?.close();
    await broker?.destroy();
  });

  it('answers 503 within 10 s, then accepts again once the broker is back', async () => {
    const brokerList = broker!.brokers;
    const kafka = createKafka({ brokers: brokerList, clientId: 'outage-test', logger: testLogger });
    const topics: TestTopics = {
      prefix: 'outage.',
      names: (await import('../../platform/topics.js')).topicNames('outage.'),
      partitions: 2,
    };
    await ensureTopics(kafka, topicPlan({ prefix: topics.prefix, partitions: 2 }), 1, testLogger);
    ingest = await startIngest(ingestConfig(topics, brokerList), testLogger);
    const payload = example('workflow_job', 'queued');

    const before = await signedRequest('workflow_job', payload, 'first-secret');
    expect((await post(ingest.port, before.headers, before.body)).status).toBe(202);

    await broker!.stop();
    const during = await signedRequest('workflow_job', payload, 'first-secret');
    const started = Date.now();
    const response = await post(ingest.port, during.headers, during.body);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(503);
    expect(elapsed).toBeLessThan(10_000);
    expect((await fetch(`http://127.0.0.1:${ingest.port}/readyz`)).status).toBe(503);

    await broker!.start();
    let status = 0;
    const after = await signedRequest('workflow_job', payload, 'first-secret');
    for (let attempt = 0; attempt < 20 && status !== 202; attempt++) {
      // The same delivery id is retried, as GitHub's redelivery would.
      status = (await post(ingest.port, after.headers, after.body)).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(status).toBe(202);
  });
});

describe('ingest with a metrics port of its own', () => {
  let ingest: RoleHandle;

  beforeAll(async () => {
    const topics = await createTestTopics(2);
    ingest = await startIngest({ ...ingestConfig(topics, brokers()), metricsPort: 0 }, testLogger);
  });
  afterAll(async () => {
    await ingest?.close();
  });

  it('serves /metrics there and not on the webhook port; webhooks only on the webhook port', async () => {
    const metricsPort = ingest.metricsPort!;
    expect(metricsPort).toBeGreaterThan(0);
    expect(metricsPort).not.toBe(ingest.port);
    const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    const metrics = await get(metricsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('runstream_ingest_deliveries_total');
    expect((await get(ingest.port, '/metrics')).status).toBe(404);
    for (const port of [ingest.port, metricsPort]) expect((await get(port, '/healthz')).status).toBe(200);

    const request = await signedRequest('workflow_job', example('workflow_job', 'queued'), 'first-secret');
    expect((await post(ingest.port, request.headers, request.body)).status).toBe(202);
    expect((await post(metricsPort, request.headers, request.body)).status).toBe(404);
  });
});
