// `runstream ingest` configuration.
import {
  type CommonConfig,
  type Env,
  readCommonConfig,
  readPort,
  readWebhookSecrets,
} from '../platform/config.js';

export interface IngestConfig extends CommonConfig {
  port: number;
  secrets: string[];
}

export function readIngestConfig(env: Env): IngestConfig {
  return {
    ...readCommonConfig(env),
    port: readPort(env, 'RUNSTREAM_INGEST_PORT', 8080),
    secrets: readWebhookSecrets(env),
  };
}
