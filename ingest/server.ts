// POST /webhook: fastify in front of decideWebhook and the publisher. Answers 202
// only after Kafka acked; 503 when it cannot within the budget. Bodies are read under
// the budget of unverified bytes (body.ts), and the budget's share given back as soon
// as the signature has been checked. Every refusal is counted exactly; its log line is
// rate-limited (refusal-log.ts) and carries header values only made safe (log-fields.ts).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../platform/log.js';
import { type BodyReaderOptions, BodyRefusedError, readBody, releaseBody } from './body.js';
import { BodyBudget } from './body-budget.js';
import type { IngestLimits } from './config.js';
import { loggedDeliveryId, loggedHeader } from './log-fields.js';
import type { CloseReason, IngestMetrics } from './metrics.js';
import type { DeliveryPublisher } from './publisher.js';
import { createRefusalLog, type RefusalLog } from './refusal-log.js';
import { decideWebhook, type Headers, MAX_BODY_BYTES, metricEventOf } from './webhook.js';

export interface WebhookRouteOptions {
  secrets: readonly string[];
  publisher: Pick<DeliveryPublisher, 'publish'>;
  metrics: IngestMetrics;
  logger: Logger;
  /** The budget of unverified body bytes (RUNSTREAM_INGEST_BODY_BUDGET and its large part). */
  limits: Pick<IngestLimits, 'bodyBudgetBytes' | 'largeBodyBudgetBytes'>;
  now?: () => number;
  refusals?: RefusalLog;
}

/** What a log line may say about a request's headers. */
function requestFields(headers: Headers): Record<string, unknown> {
  return {
    deliveryId: loggedDeliveryId(headers['x-github-delivery']),
    event: loggedHeader(headers['x-github-event']),
  };
}

export function registerWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): void {
  const { metrics } = options;
  const now = options.now ?? Date.now;
  const { count, produceSeconds } = metrics;
  const refusals = options.refusals ?? createRefusalLog(options.logger);
  const budget = new BodyBudget({
    totalBytes: options.limits.bodyBudgetBytes,
    largeBytes: options.limits.largeBodyBudgetBytes,
  });
  const bodies: BodyReaderOptions = {
    budget,
    maxBytes: MAX_BODY_BYTES,
    onHeldChange: () => metrics.unverifiedBodyBytes.set(budget.heldBytes),
  };
  watchConnections(app.server, metrics, refusals);
  app.addHook('onClose', async () => refusals.close());

  // The raw bytes are what GitHub signed; never let a parser touch them first. Every
  // body, of any route and content type, is read under the budget.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, _payload, done) => {
    readBody(request.raw, bodies).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });
  // Whatever ends a request gives its body's share back (the handler does it earlier).
  app.addHook('onResponse', async (request) => releaseBody(request.raw, bodies));
  app.addHook('onRequestAbort', async (request) => releaseBody(request.raw, bodies));

  // A body refused: counted, logged within limits, answered without fastify's error
  // line (an attacker's 503s are not ingest's errors). fastify closes the connection
  // after a body error; a small one refused before its first byte stays open instead,
  // its body read and dropped by Node, so that the client reads the 503, not a reset.
  app.setErrorHandler((error, request, reply) => {
    if (!(error instanceof BodyRefusedError)) throw error;
    // The client is gone (a request timeout closed it, counted there): nothing to tell.
    if (error.reason === 'aborted') return reply.code(error.statusCode).send({ message: error.message });
    const event = metricEventOf(request.headers);
    count(event, error.statusCode === 503 ? 'unavailable' : 'malformed');
    if (error.drainable) reply.removeHeader('connection');
    else metrics.closed(error.reason === 'bad_length' ? 'client_error' : error.reason);
    refusals.refused(
      error.reason,
      { ...requestFields(request.headers), status: error.statusCode },
      `webhook refused: ${error.message}`,
    );
    return reply.code(error.statusCode).headers(error.headers).send({ message: error.message });
  });

  app.post('/webhook', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const decision = decideWebhook({ headers: request.headers, body, receivedAt: now() }, options.secrets);
    // Verified or refused: either way the body is no longer an unverified one.
    releaseBody(request.raw, bodies);
    if (decision.kind === 'answer') {
      count(decision.event, decision.result);
      if (decision.status >= 400) {
        refusals.refused(
          decision.result,
          { ...requestFields(request.headers), status: decision.status },
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
      options.logger.debug(
        { deliveryId: delivery.id, event: delivery.event, runId: delivery.runId, ...position },
        'delivery published',
      );
      // Where it is on the deliveries topic: a trace for operators, checked by the tests.
      return reply.code(202).send({ message: 'accepted', delivery: delivery.id, ...position });
    } catch (error) {
      produceSeconds.observe({ outcome: 'failed' }, (performance.now() - started) / 1000);
      count(delivery.event, 'unavailable');
      options.logger.error(
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

/**
 * Counts (and logs within limits) the connections Node's server closes itself: past the
 * headers or request timeout (it answers 408), malformed HTTP (400/431), and those
 * dropped as they are accepted beyond the connection cap.
 */
function watchConnections(server: Server, metrics: IngestMetrics, refusals: RefusalLog): void {
  // The request each connection is on, to tell a slow body from slow headers.
  const current = new WeakMap<Socket, { complete: boolean }>();
  server.on('request', (request) => current.set(request.socket, request));
  // Before fastify's own listener, which answers and destroys the socket.
  server.prependListener('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let reason: CloseReason = 'client_error';
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const request = current.get(socket);
      reason = request !== undefined && !request.complete ? 'request_timeout' : 'headers_timeout';
    }
    metrics.closed(reason);
    refusals.refused(
      reason,
      { remote: socket.remoteAddress, code: loggedHeader(error.code) },
      reason === 'client_error'
        ? 'connection closed: bad HTTP'
        : `connection closed: ${reason.replace('_', ' ')}`,
    );
  });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    metrics.closed('max_connections');
    refusals.refused(
      'max_connections',
      { remote: data?.remoteAddress },
      'connection refused: ingest has as many open connections as RUNSTREAM_INGEST_MAX_CONNECTIONS allows',
    );
  });
}
