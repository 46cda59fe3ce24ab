// `runstream all`: ingest, processor and exporter in one process, on one broker: the
// single-node default the quickstart runs. Creates the topics it needs.
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import {
  type Env,
  HOST,
  readWebhookSecrets,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_FILE,
} from '../platform/config.js';
import { DEV_SECRET } from '../platform/dev-secret.js';
import { createKafka } from '../platform/kafka/index.js';
import { kafkaEndpoint } from '../platform/kafka-security.js';
import type { Logger } from '../platform/log.js';
import type { RoleHandle } from '../platform/role.js';
import { rawValue } from '../platform/setting.js';
import { topicPlanFor } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';

/** The address `all` binds when it runs with the development secret and RUNSTREAM_HOST is unset. */
export const DEV_HOST = '127.0.0.1';

/**
 * The environment `all` runs with: without a configured secret, the development secret;
 * with the development secret, loopback unless RUNSTREAM_HOST says otherwise (ingest then
 * refuses it off loopback). `warn` hears what was chosen for the operator.
 */
export function allEnvironment(env: Env, warn: (message: string) => void): Env {
  const fallBack = !WEBHOOK_SECRET.read(env) && !WEBHOOK_SECRET_FILE.read(env);
  let result = fallBack ? { ...env, [WEBHOOK_SECRET.name]: DEV_SECRET } : env;
  if (!readWebhookSecrets(result).includes(DEV_SECRET)) return result;
  const bindLoopback = rawValue(env, HOST.name) === undefined;
  if (bindLoopback) result = { ...result, [HOST.name]: DEV_HOST };
  warn(
    `${fallBack ? `${WEBHOOK_SECRET.name} is not set; using` : 'using'} the development secret "${DEV_SECRET}"${bindLoopback ? `, listening on ${DEV_HOST} only` : ''}`,
  );
  return result;
}

export async function startAll(env: Env, loggerFor: (role: string) => Logger): Promise<RoleHandle[]> {
  const logger = loggerFor('all');
  const allEnv = allEnvironment(env, (message) => logger.warn(message));
  const ingestConfig = readIngestConfig(allEnv);
  // The development secret is warned about by allEnvironment: its length needs no second line.
  if (ingestConfig.secrets.length === 1 && ingestConfig.secrets[0] === DEV_SECRET) ingestConfig.warnings = [];
  const processorConfig = readProcessorConfig(allEnv);
  const exporterConfig = readExporterConfig(allEnv);

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
