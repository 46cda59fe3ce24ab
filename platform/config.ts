// The settings every role shares (docs/design.md "Interfaces"): Kafka, topics, the HTTP
// address, logging, the webhook secret. Each is declared once (platform/setting.ts);
// readCommonConfig reads them. A bad value fails at start with one line naming it.
import { readFileSync } from 'node:fs';
import { type KafkaSecurity, readKafkaSecurity } from './kafka-security.js';
import type { LogFormat } from './log-format.js';
import {
  type Command,
  ConfigError,
  choiceSetting,
  durationSetting,
  type Env,
  intSetting,
  parseInteger,
  rawValue,
  type SettingDoc,
  setting,
  stringSetting,
  text,
} from './setting.js';

export { ConfigError, type Env } from './setting.js';

const DAY_MS = 86_400_000;

/** Commands that talk to Kafka. */
export const KAFKA_COMMANDS: readonly Command[] = [
  'ingest',
  'processor',
  'exporter',
  'topics',
  'replay',
  'export',
];
/** Commands that log. */
const LOGGING_COMMANDS: readonly Command[] = [...KAFKA_COMMANDS, 'runners'];
/** Commands that create, plan or verify topics (the processor verifies them at start). */
const TOPIC_COMMANDS: readonly Command[] = ['topics', 'processor'];
const HTTP_ROLES: readonly Command[] = ['ingest', 'processor', 'exporter'];

export const KAFKA_BROKERS = setting(
  {
    name: 'KAFKA_BROKERS',
    shown: '`127.0.0.1:9092`',
    meaning: 'bootstrap list, `host:port[,host:port...]`',
    commands: KAFKA_COMMANDS,
    section: 'kafka',
  },
  ['127.0.0.1:9092'],
  (raw, name) => {
    const brokers = raw
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    for (const broker of brokers) {
      if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
        throw new ConfigError(name, `expected host:port[,host:port...], got ${JSON.stringify(broker)}`);
      }
    }
    if (brokers.length === 0) throw new ConfigError(name, 'no broker given');
    return brokers;
  },
);

export const TOPIC_PREFIX = setting(
  {
    name: 'RUNSTREAM_TOPIC_PREFIX',
    shown: '`runstream.`',
    meaning: 'prefix of every topic (and of the default consumer group)',
    commands: KAFKA_COMMANDS,
    section: 'kafka',
  },
  'runstream.',
  (raw, name) => {
    if (!/^[a-zA-Z0-9._-]*$/.test(raw)) {
      throw new ConfigError(name, 'only letters, digits, ".", "_" and "-" are legal in topic names');
    }
    return raw;
  },
);

export const PARTITIONS = intSetting(
  {
    name: 'RUNSTREAM_PARTITIONS',
    meaning: 'partitions of created topics (every changelog has as many as deliveries)',
    commands: [...TOPIC_COMMANDS, 'exporter'],
    section: 'kafka',
  },
  12,
  1,
  10_000,
);

export const REPLICATION_FACTOR = setting(
  {
    name: 'RUNSTREAM_REPLICATION_FACTOR',
    shown: 'broker default',
    meaning: 'replication factor of created topics; 3 or more also sets `min.insync.replicas=2`',
    commands: TOPIC_COMMANDS,
    section: 'kafka',
  },
  -1,
  (raw, name) => {
    const value = parseInteger(raw, name, -1, 32);
    if (value === 0) throw new ConfigError(name, 'expected 1..32, or -1 for the broker default; got 0');
    return value;
  },
);

export const DELIVERIES_RETENTION = durationSetting(
  {
    name: 'RUNSTREAM_DELIVERIES_RETENTION',
    meaning: 'retention of the created deliveries topic: how far back a reprocess reaches',
    commands: TOPIC_COMMANDS,
    section: 'kafka',
  },
  7 * DAY_MS,
);

export const DEDUPE_WINDOW = durationSetting(
  {
    name: 'RUNSTREAM_DEDUPE_WINDOW',
    meaning:
      'delivery ids are remembered this long (GitHub redelivers for up to 3 days); the created dedupe changelog keeps markers at least as long',
    commands: TOPIC_COMMANDS,
    section: 'lifecycle',
  },
  4 * DAY_MS,
);

export const HOST = stringSetting(
  {
    name: 'RUNSTREAM_HOST',
    meaning:
      'address the HTTP servers bind; `all` with the development secret binds `127.0.0.1` unless this is set, and any ingest refuses that secret off loopback',
    commands: HTTP_ROLES,
    section: 'roles',
  },
  '0.0.0.0',
);

export const LOG_LEVEL = choiceSetting(
  {
    name: 'RUNSTREAM_LOG_LEVEL',
    meaning: 'least level logged',
    commands: LOGGING_COMMANDS,
    section: 'logging',
  },
  'info',
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
);

export const LOG_FORMAT = choiceSetting(
  {
    name: 'RUNSTREAM_LOG_FORMAT',
    meaning: '`json` lines, or `pretty` (readable) lines; `auto` is pretty on a terminal, JSON otherwise',
    commands: LOGGING_COMMANDS,
    section: 'logging',
  },
  'auto',
  ['auto', 'json', 'pretty'],
);

export const WEBHOOK_SECRET = text({
  name: 'RUNSTREAM_WEBHOOK_SECRET',
  shown: 'required by ingest',
  meaning: 'the webhook secret set on GitHub; comma-separated, several during a rotation',
  commands: ['ingest', 'demo'],
  section: 'roles',
});

export const WEBHOOK_SECRET_FILE = text({
  name: 'RUNSTREAM_WEBHOOK_SECRET_FILE',
  meaning: 'a file holding the secrets instead (comma- or newline-separated)',
  commands: ['ingest'],
  section: 'roles',
});

export const COMMON_SETTINGS: readonly SettingDoc[] = [
  KAFKA_BROKERS,
  TOPIC_PREFIX,
  PARTITIONS,
  REPLICATION_FACTOR,
  DELIVERIES_RETENTION,
  DEDUPE_WINDOW,
  HOST,
  LOG_LEVEL,
  LOG_FORMAT,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_FILE,
];

/** An integer from a variable outside the catalogue (benchmarks' own knobs). */
export function readInt(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = rawValue(env, name);
  return raw === undefined ? fallback : parseInteger(raw, name, min, max);
}

/** Webhook secrets: comma-separated (rotation) from the variable or from the file it names. */
export function readWebhookSecrets(env: Env): string[] {
  const file = WEBHOOK_SECRET_FILE.read(env);
  let raw = WEBHOOK_SECRET.read(env);
  if (file) {
    try {
      raw = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        WEBHOOK_SECRET_FILE.name,
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
      WEBHOOK_SECRET.name,
      `required by ingest (or ${WEBHOOK_SECRET_FILE.name}); the webhook secret set on GitHub`,
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
  /** Address the HTTP servers bind. */
  host: string;
  logLevel: string;
  /** JSON lines, or readable lines (the default on a terminal). */
  logFormat: LogFormat;
}

export function readCommonConfig(env: Env): CommonConfig {
  const format = LOG_FORMAT.read(env);
  return {
    brokers: KAFKA_BROKERS.read(env),
    security: readKafkaSecurity(env),
    topicPrefix: TOPIC_PREFIX.read(env),
    partitions: PARTITIONS.read(env),
    replicationFactor: REPLICATION_FACTOR.read(env),
    deliveriesRetentionMs: DELIVERIES_RETENTION.read(env),
    dedupeWindowMs: DEDUPE_WINDOW.read(env),
    host: HOST.read(env),
    logLevel: LOG_LEVEL.read(env),
    logFormat: format === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : format,
  };
}
