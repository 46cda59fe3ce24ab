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
import { portSetting, type SettingDoc } from '../platform/setting.js';

export const INGEST_PORT = portSetting(
  {
    name: 'RUNSTREAM_INGEST_PORT',
    meaning: 'ingest HTTP port: `POST /webhook`, `/healthz`, `/readyz`, `/metrics`',
    commands: ['ingest'],
    section: 'roles',
  },
  8080,
);

export const INGEST_SETTINGS: readonly SettingDoc[] = [INGEST_PORT];

export interface IngestConfig extends CommonConfig {
  port: number;
  secrets: string[];
}

export function readIngestConfig(env: Env): IngestConfig {
  const common = readCommonConfig(env);
  const secrets = readWebhookSecrets(env);
  const from = WEBHOOK_SECRET_FILE.read(env) ? WEBHOOK_SECRET_FILE : WEBHOOK_SECRET;
  refuseDevSecretOffLoopback(secrets, common.host, from.name, HOST.name);
  return { ...common, port: INGEST_PORT.read(env), secrets };
}
