// Wires `runstream ingest`: configuration, Kafka, publisher, HTTP server, shutdown.
import {
  type CommonConfig,
  type Env,
  readCommonConfig,
  readPort,
  readString,
  readWebhookSecrets,
} from '../platform/config.js';
import { createKafka, KafkaReachability } from '../platform/kafka.js';
import { kafkaPreflight } from '../platform/kafka-preflight.js';
import { kafkaEndpoint } from '../platform/kafka-security.js';
import type { Logger } from '../platform/log.js';
import { createRoleRegistry } from '../platform/metrics.js';
import type { RoleHandle } from '../platform/role.js';
import { topicNames } from '../platform/topics.js';
import { DeliveryPublisher } from './publisher.js';
import { buildIngestServer } from './server.js';

export interface IngestConfig extends CommonConfig {
  port: number;
  host: string;
  secrets: string[];
}

export function readIngestConfig(env: Env): IngestConfig {
  return {
    ...readCommonConfig(env),
    port: readPort(env, 'RUNSTREAM_INGEST_PORT', 8080),
    host: readString(env, 'RUNSTREAM_HOST', '0.0.0.0'),
    secrets: readWebhookSecrets(env),
  };
}

export async function startIngest(config: IngestConfig, logger: Logger): Promise<RoleHandle> {
  await kafkaPreflight(config, { role: 'ingest' }, logger);
  const kafka = createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-ingest', logger });
  const publisher = new DeliveryPublisher({
    kafka,
    topic: topicNames(config.topicPrefix).deliveries,
    logger,
  });
  const reachability = new KafkaReachability(kafka);
  const registry = createRoleRegistry('ingest');
  const app = buildIngestServer({
    secrets: config.secrets,
    publisher,
    registry,
    logger,
    readiness: async () => {
      const state = await reachability.check();
      return { ready: state.ok, detail: state.detail };
    },
  });
  // Connecting early makes the first delivery fast; a failure here is not fatal
  // (the broker may come up later), the publisher reconnects on demand.
  publisher
    .connect()
    .catch((error: unknown) =>
      logger.warn({ err: error }, 'Kafka not reachable yet; will retry per delivery'),
    );
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ address, secretCount: config.secrets.length }, 'ingest listening on /webhook');
  const port = (app.server.address() as { port: number }).port;
  return {
    role: 'ingest',
    port,
    async close() {
      // fastify.close waits for in-flight requests, which wait for their produce.
      await app.close();
      await publisher.close().catch(() => undefined);
      await reachability.close().catch(() => undefined);
      logger.info('ingest stopped');
    },
  };
}
