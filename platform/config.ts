// Configuration from the environment (docs/design.md "Interfaces"). Every parser names
// the variable it read, so a bad value fails at start with one clear line.
import { readFileSync } from 'node:fs';
import { type KafkaSecurity, readKafkaSecurity } from './kafka-security.js';
import type { LogFormat } from './log-format.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export function readString(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? fallback : value;
}

export function readInt(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

const DAY_MS = 86_400_000;
const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** Parses "500ms", "30s", "6h", "35d" (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (durationUnits[match[2] ?? 's'] ?? 1000));
}

export function readDurationMs(env: Env, name: string, fallbackMs: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallbackMs;
  const ms = parseDurationMs(raw);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(
      name,
      `expected a positive duration like 30s, 6h or 4d, got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

export function readBrokers(env: Env): string[] {
  const raw = readString(env, 'KAFKA_BROKERS', '127.0.0.1:9092');
  const brokers = raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new ConfigError(
        'KAFKA_BROKERS',
        `expected host:port[,host:port...], got ${JSON.stringify(broker)}`,
      );
    }
  }
  if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS', 'no broker given');
  return brokers;
}

/** Webhook secrets: comma-separated (rotation) from the variable or from the file it names. */
export function readWebhookSecrets(env: Env): string[] {
  const file = env.RUNSTREAM_WEBHOOK_SECRET_FILE?.trim();
  let raw = env.RUNSTREAM_WEBHOOK_SECRET;
  let source = 'RUNSTREAM_WEBHOOK_SECRET';
  if (file) {
    source = 'RUNSTREAM_WEBHOOK_SECRET_FILE';
    try {
      raw = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        source,
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  const secrets = (raw ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (secrets.length === 0) {
    throw new ConfigError(
      'RUNSTREAM_WEBHOOK_SECRET',
      'required by ingest (or RUNSTREAM_WEBHOOK_SECRET_FILE); the webhook secret set on GitHub',
    );
  }
  return secrets;
}

export interface CommonConfig {
  brokers: string[];
  /** TLS and SASL to the brokers (platform/kafka-security.ts). */
  security: KafkaSecurity;
  topicPrefix: string;
  partitions: number;
  /** -1 leaves it to the broker's default.replication.factor. */
  replicationFactor: number;
  /** Retention of the deliveries topic: how far back reprocessing can reach. */
  deliveriesRetentionMs: number;
  /** How long delivery ids are remembered; the dedupe changelog keeps at least this. */
  dedupeWindowMs: number;
  /** Completed entities are kept this long (processors); emptied gauge series are served
   * at 0 as long (exporters). */
  completedRetentionMs: number;
  /** Address the HTTP servers bind. */
  host: string;
  logLevel: string;
  /** JSON lines, or readable lines (the default on a terminal). */
  logFormat: LogFormat;
}

export function readCommonConfig(env: Env): CommonConfig {
  const topicPrefix = readString(env, 'RUNSTREAM_TOPIC_PREFIX', 'runstream.');
  if (!/^[a-zA-Z0-9._-]*$/.test(topicPrefix)) {
    throw new ConfigError(
      'RUNSTREAM_TOPIC_PREFIX',
      'only letters, digits, ".", "_" and "-" are legal in topic names',
    );
  }
  const logLevel = readString(env, 'RUNSTREAM_LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(
      'RUNSTREAM_LOG_LEVEL',
      `expected fatal|error|warn|info|debug|trace|silent, got ${logLevel}`,
    );
  }
  const format = readString(env, 'RUNSTREAM_LOG_FORMAT', 'auto');
  if (!['auto', 'json', 'pretty'].includes(format)) {
    throw new ConfigError('RUNSTREAM_LOG_FORMAT', `expected auto|json|pretty, got ${format}`);
  }
  const replicationFactor = readInt(env, 'RUNSTREAM_REPLICATION_FACTOR', -1, -1, 32);
  if (replicationFactor === 0) {
    throw new ConfigError(
      'RUNSTREAM_REPLICATION_FACTOR',
      'expected 1..32, or -1 for the broker default; got 0',
    );
  }
  return {
    brokers: readBrokers(env),
    security: readKafkaSecurity(env),
    topicPrefix,
    partitions: readInt(env, 'RUNSTREAM_PARTITIONS', 12, 1, 10_000),
    replicationFactor,
    deliveriesRetentionMs: readDurationMs(env, 'RUNSTREAM_DELIVERIES_RETENTION', 7 * DAY_MS),
    // GitHub redelivers for up to 3 days.
    dedupeWindowMs: readDurationMs(env, 'RUNSTREAM_DEDUPE_WINDOW', 4 * DAY_MS),
    completedRetentionMs: readDurationMs(env, 'RUNSTREAM_COMPLETED_RETENTION', DAY_MS),
    host: readString(env, 'RUNSTREAM_HOST', '0.0.0.0'),
    logLevel,
    logFormat: format === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : (format as LogFormat),
  };
}

const byteUnits: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** Reads a size: bytes, or a number with KiB, MiB or GiB ("4MiB"). */
export function readBytes(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/.exec(raw);
  const bytes = match ? Math.round(Number(match[1]) * byteUnits[match[2] ?? '']!) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes >= 2 ** 32) {
    throw new ConfigError(
      name,
      `expected a size such as 4MiB, 512KiB or a number of bytes below 4GiB, got ${JSON.stringify(raw)}`,
    );
  }
  return bytes;
}

export function readPort(env: Env, name: string, fallback: number): number {
  return readInt(env, name, fallback, 0, 65_535);
}
