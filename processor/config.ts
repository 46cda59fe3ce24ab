// `runstream processor` configuration: its settings, declared once, and the knobs with
// their reasons, in one place.
import { resolve } from 'node:path';
import { type CommonConfig, type Env, readCommonConfig } from '../platform/config.js';
import {
  bytesSetting,
  ConfigError,
  durationSetting,
  intSetting,
  portSetting,
  type SettingDoc,
  stringSetting,
  text,
} from '../platform/setting.js';
import { readMetricCatalogue } from '../schemas/metric-settings.js';
import type { MetricCatalogue } from '../schemas/metrics.js';
import { DEFAULT_LIFECYCLE_LIMITS, type LifecycleLimits } from './core/types.js';

const d = DEFAULT_LIFECYCLE_LIMITS;
const processor = ['processor'] as const;

export const PROCESSOR_PORT = portSetting(
  {
    name: 'RUNSTREAM_PROCESSOR_PORT',
    meaning: 'processor HTTP port: `/metrics`, `/healthz`, `/readyz`',
    commands: processor,
    section: 'roles',
  },
  9400,
);

export const STATE_DIR = stringSetting(
  {
    name: 'RUNSTREAM_STATE_DIR',
    meaning: 'RocksDB root (one directory per processor instance)',
    commands: processor,
    section: 'roles',
  },
  './data',
);

export const PROCESSOR_GROUP = text({
  name: 'RUNSTREAM_PROCESSOR_GROUP',
  shown: '`<prefix>processor`',
  meaning: 'consumer group, and the prefix of its transactional ids',
  commands: processor,
  section: 'roles',
});

export const SESSION_TIMEOUT = durationSetting(
  {
    name: 'RUNSTREAM_PROCESSOR_SESSION_TIMEOUT',
    meaning: 'how long a dead processor keeps its partitions',
    commands: processor,
    section: 'processing',
  },
  // The broker's smallest by default (group.min.session.timeout.ms): a dead instance's
  // partitions move after 6 s, so its metrics are fresh again within 8 s. Heartbeats go
  // at most every 100 ms (processor.ts), from the fetch loop between fetches (so at least
  // every FETCH_MAX_WAIT while idle); raise it where pauses are longer. 2 s, on brokers lowered to accept it, makes that 5 s
  // (docs/operations.md, "Failover in seconds").
  6000,
);

// kafkajs fetches a partition again only once every batch of the previous fetch was
// processed, so partitions beyond this many commit in waves, one transaction after another:
// one instance owning the default 12 partitions commits them all at once (freshness at
// 1,000/s: the time from ingest's ack to the commit halved against 4, same CPU).
export const CONCURRENCY = intSetting(
  {
    name: 'RUNSTREAM_PROCESSOR_CONCURRENCY',
    meaning: 'partitions processed in parallel per instance',
    commands: processor,
    section: 'processing',
  },
  12,
  1,
  64,
);

// Memory of an instance restoring in full: each restore at once holds a changelog reader,
// a store taking bulk writes and a recount (processor/restore-slots.ts); small tails never wait.
export const RESTORE_CONCURRENCY = intSetting(
  {
    name: 'RUNSTREAM_RESTORE_CONCURRENCY',
    meaning:
      'partitions restored from their changelogs at once per instance (restores of more than 10,000 records; smaller tails never wait)',
    commands: processor,
    section: 'processing',
  },
  2,
  1,
  64,
);

// How deliveries gather into transactions (Kafka's fetch.min.bytes and fetch.max.wait.ms):
// at low rates, the max wait is the commit interval. The processor commits one transaction
// per partition per fetched batch, and each costs five requests or more whatever it holds:
// a fetch that answered at the first byte (until 2026-12-07) made transactions of one or
// two deliveries at 200/s. One that waits for 256 KiB (about 30 deliveries) or 250 ms
// gathers them: at 200/s the processor's CPU fell from 33-40% to 16-18% of a core, below
// ingest's, and deliveries reach /metrics about 100 ms later; at 1,000/s, where 256 KiB
// arrives in ~25 ms, freshness was no worse (docs/operations.md, "CPU at low rates"). The
// wait also bounds how long a rebalance, a resumed partition and a fetcher whose
// partitions are all restoring wait for a fetch in flight, and kafkajs heartbeats between
// fetches: the fast failover sets 100 ms and 1 byte.
export const FETCH_MIN_BYTES = bytesSetting(
  {
    name: 'RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES',
    meaning:
      'a fetch of deliveries answers once this much is there (or after the max wait): more per transaction at low rates',
    commands: processor,
    section: 'processing',
  },
  256 * 1024,
);

export const FETCH_MAX_WAIT = durationSetting(
  {
    name: 'RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT',
    meaning: 'longest a fetch of deliveries waits for the min bytes: at low rates, the commit interval',
    commands: processor,
    section: 'processing',
  },
  250,
);

export const MAX_RECORDS_PER_TRANSACTION = intSetting(
  {
    name: 'RUNSTREAM_MAX_RECORDS_PER_TRANSACTION',
    meaning: 'deliveries per Kafka transaction',
    commands: processor,
    section: 'processing',
  },
  500,
  1,
  10_000,
);

// Per owned partition; RocksDB's own defaults (8 MiB and 4 MiB) made twelve stores take
// 200 MB before any data. Reads are mostly multi-gets of recent keys. How the binding
// applies both: processor/store.ts rocksOptions.
export const STORE_CACHE_SIZE = bytesSetting(
  {
    name: 'RUNSTREAM_STORE_CACHE_SIZE',
    meaning: "RocksDB block cache of each owned partition's store",
    commands: processor,
    section: 'processing',
  },
  2 * 1024 * 1024,
);

export const STORE_WRITE_BUFFER_SIZE = bytesSetting(
  {
    name: 'RUNSTREAM_STORE_WRITE_BUFFER_SIZE',
    meaning: "RocksDB write buffer of each owned partition's store (flushed two at a time, at most six)",
    commands: processor,
    section: 'processing',
  },
  2 * 1024 * 1024,
);

export const HOUSEKEEPING_INTERVAL = durationSetting(
  {
    name: 'RUNSTREAM_HOUSEKEEPING_INTERVAL',
    meaning: 'how often expiry and retention run',
    commands: processor,
    section: 'lifecycle',
  },
  60_000,
);

export const QUEUED_JOB_MAX_AGE = durationSetting(
  {
    name: 'RUNSTREAM_QUEUED_JOB_MAX_AGE',
    meaning:
      'a queued job older than this is expired (a job waiting for an approval gets the run limit: GitHub lets it wait 30 d)',
    commands: processor,
    section: 'lifecycle',
  },
  d.queuedJobMaxAgeMs,
);

export const RUNNING_JOB_MAX_AGE_HOSTED = durationSetting(
  {
    name: 'RUNSTREAM_RUNNING_JOB_MAX_AGE_HOSTED',
    meaning:
      'a running job on a GitHub-hosted runner (no `self-hosted` label, and an `ubuntu-*`, `windows-*` or `macos-*` label or the `GitHub Actions` group) older than this is expired',
    commands: processor,
    section: 'lifecycle',
  },
  d.runningHostedJobMaxAgeMs,
);

export const RUNNING_JOB_MAX_AGE_SELF_HOSTED = durationSetting(
  {
    name: 'RUNSTREAM_RUNNING_JOB_MAX_AGE_SELF_HOSTED',
    meaning: 'the same for every other runner (self-hosted, scale sets)',
    commands: processor,
    section: 'lifecycle',
  },
  d.runningSelfHostedJobMaxAgeMs,
);

export const RUN_MAX_AGE = durationSetting(
  {
    name: 'RUNSTREAM_RUN_MAX_AGE',
    meaning: 'a run not completed within this is expired',
    commands: processor,
    section: 'lifecycle',
  },
  d.runMaxAgeMs,
);

export const COMPLETED_RETENTION = durationSetting(
  {
    name: 'RUNSTREAM_COMPLETED_RETENTION',
    meaning:
      'completed entities are kept this long to absorb late events, then a small marker stays for `RUNSTREAM_DEDUPE_WINDOW`, so later events about them are stale; an emptied gauge series is served at 0 as long',
    commands: processor,
    section: 'lifecycle',
  },
  d.completedRetentionMs,
);

export const PROCESSOR_SETTINGS: readonly SettingDoc[] = [
  PROCESSOR_PORT,
  STATE_DIR,
  PROCESSOR_GROUP,
  SESSION_TIMEOUT,
  CONCURRENCY,
  RESTORE_CONCURRENCY,
  FETCH_MIN_BYTES,
  FETCH_MAX_WAIT,
  MAX_RECORDS_PER_TRANSACTION,
  STORE_CACHE_SIZE,
  STORE_WRITE_BUFFER_SIZE,
  HOUSEKEEPING_INTERVAL,
  QUEUED_JOB_MAX_AGE,
  RUNNING_JOB_MAX_AGE_HOSTED,
  RUNNING_JOB_MAX_AGE_SELF_HOSTED,
  RUN_MAX_AGE,
  COMPLETED_RETENTION,
];

export interface ProcessorConfig extends CommonConfig {
  port: number;
  stateDir: string;
  /** Consumer group, and the prefix of the transactional ids and restore reader groups. */
  groupId: string;
  limits: LifecycleLimits;
  housekeepingIntervalMs: number;
  /** Partitions processed in parallel by one instance. */
  concurrency: number;
  /** Deliveries per transaction; bounds the changelog batch below the broker's message size. */
  maxRecordsPerTransaction: number;
  /** How long a dead instance keeps its partitions before the group moves them. */
  sessionTimeoutMs: number;
  /** A fetch of deliveries answers once this much is there, or after fetchMaxWaitMs. */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  /** Changes per housekeeping transaction (the rest wait for the next pass). */
  maxHousekeepingChanges: number;
  /** The broker aborts a transaction open longer than this. */
  transactionTimeoutMs: number;
  /** Large restores run at once by one instance (processor/restore-slots.ts). */
  restoreConcurrency: number;
  /** A restore whose reads make no progress for this long fails (and the next restores in full). */
  restoreStallTimeoutMs: number;
  /** How long reading offsets keeps retrying while the cluster settles. */
  offsetsTimeoutMs: number;
  /** RocksDB memory of each partition's store: block cache, and write buffer (at most two). */
  storeCacheBytes: number;
  storeWriteBufferBytes: number;
  /** The metric families as configured: labels, buckets, pools, repository filters. */
  catalogue: MetricCatalogue;
}

export function readProcessorConfig(env: Env): ProcessorConfig {
  const common = readCommonConfig(env);
  const sessionTimeoutMs = SESSION_TIMEOUT.read(env);
  const fetchMaxWaitMs = FETCH_MAX_WAIT.read(env);
  // kafkajs heartbeats between fetches: a fetch must end well within the session.
  if (fetchMaxWaitMs > sessionTimeoutMs / 3) {
    throw new ConfigError(
      FETCH_MAX_WAIT.name,
      `${fetchMaxWaitMs}ms is over a third of ${SESSION_TIMEOUT.name} (${sessionTimeoutMs}ms): heartbeats go between fetches, so the group would take the instance for dead`,
    );
  }
  return {
    ...common,
    port: PROCESSOR_PORT.read(env),
    stateDir: resolve(STATE_DIR.read(env)),
    groupId: PROCESSOR_GROUP.read(env) ?? `${common.topicPrefix}processor`,
    limits: {
      queuedJobMaxAgeMs: QUEUED_JOB_MAX_AGE.read(env),
      runningHostedJobMaxAgeMs: RUNNING_JOB_MAX_AGE_HOSTED.read(env),
      runningSelfHostedJobMaxAgeMs: RUNNING_JOB_MAX_AGE_SELF_HOSTED.read(env),
      runMaxAgeMs: RUN_MAX_AGE.read(env),
      completedRetentionMs: COMPLETED_RETENTION.read(env),
      dedupeWindowMs: common.dedupeWindowMs,
    },
    housekeepingIntervalMs: HOUSEKEEPING_INTERVAL.read(env),
    concurrency: CONCURRENCY.read(env),
    maxRecordsPerTransaction: MAX_RECORDS_PER_TRANSACTION.read(env),
    sessionTimeoutMs,
    fetchMinBytes: FETCH_MIN_BYTES.read(env),
    fetchMaxWaitMs,
    maxHousekeepingChanges: 5000,
    transactionTimeoutMs: 60_000,
    restoreConcurrency: RESTORE_CONCURRENCY.read(env),
    restoreStallTimeoutMs: 60_000,
    offsetsTimeoutMs: 60_000,
    storeCacheBytes: STORE_CACHE_SIZE.read(env),
    storeWriteBufferBytes: STORE_WRITE_BUFFER_SIZE.read(env),
    catalogue: readMetricCatalogue(env),
  };
}
