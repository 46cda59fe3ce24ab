// `runstream ingest` configuration.
import {
  type CommonConfig,
  type Env,
  HOST,
  readCommonConfig,
  readWebhookSecrets,
  shortSecretWarning,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_FILE,
} from '../platform/config.js';
import { refuseDevSecretOffLoopback } from '../platform/dev-secret.js';
import {
  bytesSetting,
  ConfigError,
  durationSetting,
  intSetting,
  parseInteger,
  portSetting,
  type SettingDoc,
  setting,
} from '../platform/setting.js';
import { MAX_BODY_BYTES } from './webhook.js';

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

// The door's limits (docs/operations.md, "Ingest under attack"). GitHub gives up on a
// delivery after 10 s, so a request slower than that is lost anyway: the timeouts
// cost GitHub nothing and free what slow clients hold.

export const INGEST_HEADERS_TIMEOUT = durationSetting(
  {
    name: 'RUNSTREAM_INGEST_HEADERS_TIMEOUT',
    meaning:
      'ingest answers 408 and closes a connection whose request headers are not complete this long after their first byte; one that sends nothing is closed this long after connecting. At most the request timeout',
    commands: ['ingest'],
    section: 'roles',
  },
  5_000,
);

export const INGEST_REQUEST_TIMEOUT = durationSetting(
  {
    name: 'RUNSTREAM_INGEST_REQUEST_TIMEOUT',
    meaning:
      'ingest answers 408 and closes a connection whose request (headers and body) is not complete this long after its first byte; the time to answer (Kafka) is not counted',
    commands: ['ingest'],
    section: 'roles',
  },
  15_000,
);

export const INGEST_KEEPALIVE_TIMEOUT = durationSetting(
  {
    name: 'RUNSTREAM_INGEST_KEEPALIVE_TIMEOUT',
    meaning:
      'ingest closes a kept-alive connection idle this long after an answer; keep it above the idle timeout of the load balancer in front (60 s for most)',
    commands: ['ingest'],
    section: 'roles',
  },
  72_000,
);

export const INGEST_MAX_CONNECTIONS = intSetting(
  {
    name: 'RUNSTREAM_INGEST_MAX_CONNECTIONS',
    meaning: 'open connections ingest accepts at once; beyond it a new connection is closed at once',
    commands: ['ingest'],
    section: 'roles',
  },
  2048,
  1,
  1_000_000,
);

export const INGEST_BODY_BUDGET = bytesSetting(
  {
    name: 'RUNSTREAM_INGEST_BODY_BUDGET',
    meaning:
      'bytes of request bodies ingest holds before their signature is checked, across all connections; a request that does not fit is answered 503 with Retry-After',
    commands: ['ingest'],
    section: 'roles',
  },
  64 * 1024 * 1024,
);

export const INGEST_LARGE_BODY_BUDGET = bytesSetting(
  {
    name: 'RUNSTREAM_INGEST_LARGE_BODY_BUDGET',
    meaning:
      "the part of `RUNSTREAM_INGEST_BODY_BUDGET` that bodies over 1 MiB may hold together (at least 25MiB, GitHub's largest payload); the rest stays free for ordinary deliveries",
    commands: ['ingest'],
    section: 'roles',
  },
  2 * MAX_BODY_BYTES,
);

export const INGEST_SETTINGS: readonly SettingDoc[] = [
  INGEST_PORT,
  INGEST_METRICS_PORT,
  INGEST_HEADERS_TIMEOUT,
  INGEST_REQUEST_TIMEOUT,
  INGEST_KEEPALIVE_TIMEOUT,
  INGEST_MAX_CONNECTIONS,
  INGEST_BODY_BUDGET,
  INGEST_LARGE_BODY_BUDGET,
];

/** What ingest's HTTP server allows a client (platform/http.ts applies the first four). */
export interface IngestLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  bodyBudgetBytes: number;
  largeBodyBudgetBytes: number;
}

export interface IngestConfig extends CommonConfig {
  port: number;
  /** Where /metrics is served instead of `port`; undefined serves it on `port`. */
  metricsPort?: number;
  secrets: string[];
  /** Said once at start (a secret too short); never a secret's value. */
  warnings: string[];
  limits: IngestLimits;
}

export function readIngestLimits(env: Env): IngestLimits {
  const limits: IngestLimits = {
    headersTimeoutMs: INGEST_HEADERS_TIMEOUT.read(env),
    requestTimeoutMs: INGEST_REQUEST_TIMEOUT.read(env),
    keepAliveTimeoutMs: INGEST_KEEPALIVE_TIMEOUT.read(env),
    maxConnections: INGEST_MAX_CONNECTIONS.read(env),
    bodyBudgetBytes: INGEST_BODY_BUDGET.read(env),
    largeBodyBudgetBytes: INGEST_LARGE_BODY_BUDGET.read(env),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(
      INGEST_HEADERS_TIMEOUT.name,
      `must not exceed ${INGEST_REQUEST_TIMEOUT.name} (${limits.requestTimeoutMs} ms), got ${limits.headersTimeoutMs} ms`,
    );
  }
  if (limits.largeBodyBudgetBytes < MAX_BODY_BYTES) {
    throw new ConfigError(
      INGEST_LARGE_BODY_BUDGET.name,
      `must be at least ${MAX_BODY_BYTES} bytes (25MiB, GitHub's largest payload), got ${limits.largeBodyBudgetBytes}`,
    );
  }
  if (limits.largeBodyBudgetBytes > limits.bodyBudgetBytes) {
    throw new ConfigError(
      INGEST_LARGE_BODY_BUDGET.name,
      `must not exceed ${INGEST_BODY_BUDGET.name} (${limits.bodyBudgetBytes} bytes), got ${limits.largeBodyBudgetBytes}`,
    );
  }
  return limits;
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
  const short = shortSecretWarning(env, secrets);
  return {
    ...common,
    port,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    secrets,
    warnings: short === undefined ? [] : [short],
    limits: readIngestLimits(env),
  };
}
