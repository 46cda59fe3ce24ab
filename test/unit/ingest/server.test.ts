// The webhook route's refusals on a real fastify server on loopback (no Kafka: the
// publisher is never reached by a refused request).
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { readIngestLimits } from '../../../ingest/config.js';
import { createIngestMetrics, type IngestMetrics } from '../../../ingest/metrics.js';
import { registerWebhookRoute } from '../../../ingest/server.js';
import { createHttpApp } from '../../../platform/http.js';
import { createLogger } from '../../../platform/log.js';
import { createRoleRegistry } from '../../../platform/metrics.js';

const MiB = 1024 * 1024;
let app: FastifyInstance | undefined;
afterEach(async () => {
  // Whatever a failed test left open must not hold the close.
  app?.server.closeAllConnections();
  await app?.close();
  app = undefined;
});

async function start(
  bodyBudgetBytes: number,
): Promise<{ url: string; port: number; metrics: IngestMetrics }> {
  const logger = createLogger('test', 'silent');
  const metrics = createIngestMetrics(createRoleRegistry('ingest'));
  app = createHttpApp(logger, readIngestLimits({}));
  registerWebhookRoute(app, {
    secrets: ['s'],
    publisher: { publish: async () => Promise.reject(new Error('not reached')) },
    metrics,
    logger,
    limits: { bodyBudgetBytes, largeBodyBudgetBytes: bodyBudgetBytes },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/webhook`, port, metrics };
}

const post = (url: string, bytes: number) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'workflow_job' },
    body: Buffer.alloc(bytes, 0x20),
  });

describe('the webhook route under its body budget', () => {
  it('answers 503 with Retry-After while stalled bodies hold the budget, and serves again once they are gone', async () => {
    const { url, port, metrics } = await start(2 * MiB);
    // A body announced at 1.5 MiB, a few bytes sent, then stalled: it holds its claim.
    const staller = connect({ port, host: '127.0.0.1' });
    staller.on('error', () => undefined);
    staller.write(`POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: ${1.5 * MiB}\r\n\r\n{`);
    while ((await metrics.unverifiedBodyBytes.get()).values[0]?.value !== 1.5 * MiB) {
      await new Promise((r) => setTimeout(r, 10));
    }

    const refused = await post(url, 600_000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    // A small body is read and dropped: the client reads the answer, the connection stays.
    expect(refused.headers.get('connection')).not.toBe('close');
    const unavailable = await metrics.deliveries.get();
    expect(unavailable.values).toContainEqual(
      expect.objectContaining({ labels: { event: 'workflow_job', result: 'unavailable' }, value: 1 }),
    );

    staller.destroy();
    while ((await metrics.unverifiedBodyBytes.get()).values[0]?.value !== 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // Read, verified (and refused: no signature), the budget given back.
    expect((await post(url, 600_000)).status).toBe(401);
    expect((await metrics.unverifiedBodyBytes.get()).values[0]?.value).toBe(0);
  });

  it('closes the connection of a large body it refuses, and counts it', async () => {
    const { port, metrics } = await start(2 * MiB);
    const client = connect({ port, host: '127.0.0.1' });
    let answer = '';
    client.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    client.on('error', () => undefined);
    client.write(`POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: ${3 * MiB}\r\n\r\n`);
    await new Promise((resolve) => client.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    const closed = await metrics.connectionsClosed.get();
    expect(closed.values).toContainEqual(
      expect.objectContaining({ labels: { reason: 'over_budget' }, value: 1 }),
    );
  });
});
