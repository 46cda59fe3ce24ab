// `runstream processor` configuration: what the environment sets, and the knobs with
// their reasons, in one place.
import { resolve } from 'node:path';
import {
  type CommonConfig,
  type Env,
  readBytes,
  readCommonConfig,
  readDurationMs,
  readInt,
  readPort,
  readString,
} from '../platform/config.js';
import { DEFAULT_LIFECYCLE_LIMITS, type LifecycleLimits } from './core/types.js';

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
  /** Changes per housekeeping transaction (the rest wait for the next pass). */
  maxHousekeepingChanges: number;
  /** The broker aborts a transaction open longer than this. */
  transactionTimeoutMs: number;
  /** A restore whose reads make no progress for this long fails (and the next restores in full). */
  restoreStallTimeoutMs: number;
  /** How long reading offsets keeps retrying while the cluster settles. */
  offsetsTimeoutMs: number;
  /** RocksDB memory of each partition's store: block cache, and write buffer (at most two). */
  storeCacheBytes: number;
  storeWriteBufferBytes: number;
}

export function readProcessorConfig(env: Env): ProcessorConfig {
  const common = readCommonConfig(env);
  const d = DEFAULT_LIFECYCLE_LIMITS;
  return {
    ...common,
    port: readPort(env, 'RUNSTREAM_PROCESSOR_PORT', 9400),
    stateDir: resolve(readString(env, 'RUNSTREAM_STATE_DIR', './data')),
    groupId: readString(env, 'RUNSTREAM_PROCESSOR_GROUP', `${common.topicPrefix}processor`),
    limits: {
      queuedJobMaxAgeMs: readDurationMs(env, 'RUNSTREAM_QUEUED_JOB_MAX_AGE', d.queuedJobMaxAgeMs),
      runningHostedJobMaxAgeMs: readDurationMs(
        env,
        'RUNSTREAM_RUNNING_JOB_MAX_AGE_HOSTED',
        d.runningHostedJobMaxAgeMs,
      ),
      runningSelfHostedJobMaxAgeMs: readDurationMs(
        env,
        'RUNSTREAM_RUNNING_JOB_MAX_AGE_SELF_HOSTED',
        d.runningSelfHostedJobMaxAgeMs,
      ),
      runMaxAgeMs: readDurationMs(env, 'RUNSTREAM_RUN_MAX_AGE', d.runMaxAgeMs),
      completedRetentionMs: common.completedRetentionMs,
      dedupeWindowMs: common.dedupeWindowMs,
    },
    housekeepingIntervalMs: readDurationMs(env, 'RUNSTREAM_HOUSEKEEPING_INTERVAL', 60_000),
    concurrency: readInt(env, 'RUNSTREAM_PROCESSOR_CONCURRENCY', 2, 1, 64),
    maxRecordsPerTransaction: readInt(env, 'RUNSTREAM_MAX_RECORDS_PER_TRANSACTION', 500, 1, 10_000),
    // Kafka's long-standing default: a dead instance's partitions move after 10 s.
    sessionTimeoutMs: readDurationMs(env, 'RUNSTREAM_PROCESSOR_SESSION_TIMEOUT', 10_000),
    maxHousekeepingChanges: 5000,
    transactionTimeoutMs: 60_000,
    restoreStallTimeoutMs: 60_000,
    offsetsTimeoutMs: 60_000,
    // Per owned partition; RocksDB's own defaults (8 MiB and 4 MiB) made twelve stores
    // take 200 MB before any data. Reads are mostly multi-gets of recent keys.
    storeCacheBytes: readBytes(env, 'RUNSTREAM_STORE_CACHE_SIZE', 2 * 1024 * 1024),
    storeWriteBufferBytes: readBytes(env, 'RUNSTREAM_STORE_WRITE_BUFFER_SIZE', 2 * 1024 * 1024),
  };
}
