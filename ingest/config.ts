// `runstream ingest` configuration.
import {
  type CommonConfig,
  type Env,
  readCommonConfig,
  readWebhookSecrets,
  shortSecretWarning,
} from '../platform/config.js';
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
  /** Said once at start (a secret too short); never a secret's value. */
  warnings: string[];
}

export function readIngestConfig(env: Env): IngestConfig {
  const secrets = readWebhookSecrets(env);
  const short = shortSecretWarning(env, secrets);
  return {
    ...readCommonConfig(env),
    port: INGEST_PORT.read(env),
    secrets,
    warnings: short === undefined ? [] : [short],
  };
}
