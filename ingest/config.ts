// `runstream ingest` configuration.
import {
  type CommonConfig,
  type Env,
  HOST,
  readCommonConfig,
  readWebhookSecrets,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_FILE,
} from '../platform/config.js';
import { refuseDevSecretOffLoopback } from '../platform/dev-secret.js';
import { ConfigError, parseInteger, portSetting, type SettingDoc, setting } from '../platform/setting.js';

export const INGEST_PORT = portSetting(
  {
    name: 'RUNSTREAM_INGEST_PORT',
    meaning:
      'ingest HTTP port: `POST /webhook`, `/healthz`, `/readyz`, and `/metrics` unless `RUNSTREAM_INGEST_METRICS_PORT` is set',
    commands: ['ingest'],
    section: 'roles',
  },
  8080,
);

export const INGEST_METRICS_PORT = setting<number | undefined>(
  {
    name: 'RUNSTREAM_INGEST_METRICS_PORT',
    shown: 'the ingest port',
    meaning:
      "a port of its own for ingest's `/metrics` (with `/healthz`, `/readyz`), so the webhook port, the internet-facing one, serves no metrics",
    commands: ['ingest'],
    section: 'roles',
  },
  undefined,
  (raw, name) => parseInteger(raw, name, 0, 65_535),
);

export const INGEST_SETTINGS: readonly SettingDoc[] = [INGEST_PORT, INGEST_METRICS_PORT];

export interface IngestConfig extends CommonConfig {
  port: number;
  /** Where /metrics is served instead of `port`; undefined serves it on `port`. */
  metricsPort?: number;
  secrets: string[];
}

export function readIngestConfig(env: Env): IngestConfig {
  const common = readCommonConfig(env);
  const secrets = readWebhookSecrets(env);
  const from = WEBHOOK_SECRET_FILE.read(env) ? WEBHOOK_SECRET_FILE : WEBHOOK_SECRET;
  refuseDevSecretOffLoopback(secrets, common.host, from.name, HOST.name);
  const port = INGEST_PORT.read(env);
  const metricsPort = INGEST_METRICS_PORT.read(env);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError(
      INGEST_METRICS_PORT.name,
      `is ${INGEST_PORT.name} too (${port}); unset it, or give another port`,
    );
  }
  return { ...common, port, ...(metricsPort === undefined ? {} : { metricsPort }), secrets };
}
