// Wires `runstream ingest`: the publisher and the webhook route on the shared role
// scaffold.
import type { Logger } from '../platform/log.js';
import { type RoleHandle, startRole } from '../platform/role.js';
import { topicNames } from '../platform/topics.js';
import type { IngestConfig } from './config.js';
import { createIngestMetrics } from './metrics.js';
import { DeliveryPublisher } from './publisher.js';
import { registerWebhookRoute } from './server.js';

export { type IngestConfig, readIngestConfig } from './config.js';

export async function startIngest(config: IngestConfig, logger: Logger): Promise<RoleHandle> {
  for (const warning of config.warnings) logger.warn(warning);
  return startRole({
    role: 'ingest',
    config,
    logger,
    serverLimits: config.limits,
    describe: () => ({ path: '/webhook', secretCount: config.secrets.length }),
    async create({ kafka, registry, app }) {
      const publisher = new DeliveryPublisher({
        kafka,
        topic: topicNames(config.topicPrefix).deliveries,
        logger,
      });
      registerWebhookRoute(app, {
        secrets: config.secrets,
        publisher,
        metrics: createIngestMetrics(registry),
        logger,
        limits: config.limits,
      });
      // Connecting early makes the first delivery fast; a failure here is not fatal
      // (the broker may come up later), the publisher reconnects on demand.
      publisher
        .connect()
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'Kafka not reachable yet; will retry per delivery'),
        );
      return {
        readiness: () => ({ ready: true, detail: 'kafka reachable' }),
        close: () => publisher.close().catch(() => undefined),
      };
    },
  });
}
