// `runstream ingest`: fastify in front of decideWebhook and the publisher. Answers 202
// only after Kafka acked; 503 when it cannot within the budget.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createHttpApp, type Readiness, registerOpsRoutes } from '../platform/http.js';
import type { Logger } from '../platform/log.js';
import type { DeliveryPublisher } from './publisher.js';
import { decideWebhook, type IngestResult, MAX_BODY_BYTES } from './webhook.js';

export interface IngestServerOptions {
  secrets: readonly string[];
  publisher: Pick<DeliveryPublisher, 'publish'>;
  registry: Registry;
  logger: Logger;
  readiness: () => Promise<Readiness>;
  now?: () => number;
}

export function buildIngestServer(options: IngestServerOptions): FastifyInstance {
  const { logger, registry } = options;
  const now = options.now ?? Date.now;
  const app = createHttpApp(logger, MAX_BODY_BYTES);

  const deliveries = new Counter({
    name: 'runstream_ingest_deliveries_total',
    help: 'Webhook requests by event and result',
    labelNames: ['event', 'result'],
    registers: [registry],
  });
  const produceSeconds = new Histogram({
    name: 'runstream_ingest_produce_duration_seconds',
    help: 'Time from the produce call to the acks=all acknowledgement',
    labelNames: ['outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const count = (event: string, result: IngestResult) => deliveries.inc({ event, result });

  // The raw bytes are what GitHub signed; never let a parser touch them first.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Oversized bodies are refused by fastify before the handler; count them here.
  app.addHook('onError', async (request, _reply, error) => {
    if ((error as { statusCode?: number }).statusCode === 413) {
      count('other', 'malformed');
      logger.warn({ deliveryId: request.headers['x-github-delivery'] }, 'webhook body over 25 MB refused');
    }
  });

  app.post('/webhook', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const decision = decideWebhook({ headers: request.headers, body, receivedAt: now() }, options.secrets);
    if (decision.kind === 'answer') {
      count(decision.event, decision.result);
      if (decision.status >= 400) {
        logger.warn(
          {
            deliveryId: request.headers['x-github-delivery'],
            event: request.headers['x-github-event'],
            status: decision.status,
          },
          `webhook refused: ${decision.message}`,
        );
      }
      return reply.code(decision.status).send({ message: decision.message });
    }
    const { delivery } = decision;
    const started = performance.now();
    try {
      const [position] = await options.publisher.publish([{ key: decision.key, delivery }]);
      produceSeconds.observe({ outcome: 'acked' }, (performance.now() - started) / 1000);
      count(delivery.event, 'accepted');
      logger.debug(
        { deliveryId: delivery.id, event: delivery.event, runId: delivery.runId, ...position },
        'delivery published',
      );
      // Where it is on the deliveries topic: a trace for operators, checked by the tests.
      return reply.code(202).send({ message: 'accepted', delivery: delivery.id, ...position });
    } catch (error) {
      produceSeconds.observe({ outcome: 'failed' }, (performance.now() - started) / 1000);
      count(delivery.event, 'unavailable');
      logger.error(
        { deliveryId: delivery.id, event: delivery.event, err: error },
        'Kafka unavailable; answering 503',
      );
      return reply
        .code(503)
        .header('retry-after', '10')
        .send({ message: 'Kafka unavailable; redeliver later' });
    }
  });

  registerOpsRoutes(app, { registry, readiness: options.readiness });
  return app;
}
