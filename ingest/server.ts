// POST /webhook: fastify in front of decideWebhook and the publisher. Answers 202
// only after Kafka acked; 503 when it cannot within the budget. The app must be
// created with a body limit of MAX_BODY_BYTES (webhook.ts).
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../platform/log.js';
import type { IngestMetrics } from './metrics.js';
import type { DeliveryPublisher } from './publisher.js';
import { decideWebhook } from './webhook.js';

export interface WebhookRouteOptions {
  secrets: readonly string[];
  publisher: Pick<DeliveryPublisher, 'publish'>;
  metrics: IngestMetrics;
  logger: Logger;
  now?: () => number;
}

export function registerWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): void {
  const { logger, metrics } = options;
  const now = options.now ?? Date.now;
  const { count, produceSeconds } = metrics;

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
}
