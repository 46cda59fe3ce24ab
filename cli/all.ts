// `runstream all`: ingest, processor and exporter in one process, on one broker: the
// single-node default the quickstart runs. Creates the topics it needs.
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { type Env, WEBHOOK_SECRET, WEBHOOK_SECRET_FILE } from '../platform/config.js';
import { createKafka } from '../platform/kafka.js';
import { kafkaEndpoint } from '../platform/kafka-security.js';
import type { Logger } from '../platform/log.js';
import type { RoleHandle } from '../platform/role.js';
import { topicPlanFor } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';

export const DEV_SECRET = 'dev-secret';

export async function startAll(env: Env, loggerFor: (role: string) => Logger): Promise<RoleHandle[]> {
  const logger = loggerFor('all');
  let ingestEnv = env;
  if (!WEBHOOK_SECRET.read(env) && !WEBHOOK_SECRET_FILE.read(env)) {
    logger.warn(`${WEBHOOK_SECRET.name} is not set; using the development secret "${DEV_SECRET}"`);
    ingestEnv = { ...env, [WEBHOOK_SECRET.name]: DEV_SECRET };
  }
  const ingestConfig = readIngestConfig(ingestEnv);
  // The development secret is warned about above: its length needs no second line.
  if (ingestEnv !== env) ingestConfig.warnings = [];
  const processorConfig = readProcessorConfig(env);
  const exporterConfig = readExporterConfig(env);

  const kafka = createKafka({ ...kafkaEndpoint(ingestConfig), clientId: 'runstream-all', logger });
  await ensureTopics(kafka, topicPlanFor(ingestConfig), ingestConfig.replicationFactor, logger);
  const handles: RoleHandle[] = [];
  try {
    handles.push(await startProcessor(processorConfig, loggerFor('processor')));
    handles.push(await startExporter(exporterConfig, loggerFor('exporter')));
    handles.push(await startIngest(ingestConfig, loggerFor('ingest')));
  } catch (error) {
    for (const handle of handles.reverse()) await handle.close().catch(() => undefined);
    throw error;
  }
  return handles;
}
