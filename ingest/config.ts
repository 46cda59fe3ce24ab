// `runstream ingest` configuration.
import { type CommonConfig, type Env, readCommonConfig, readWebhookSecrets } from '../platform/config.js';
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
  return {
    ...readCommonConfig(env),
    port: INGEST_PORT.read(env),
    secrets: readWebhookSecrets(env),
  };
}
