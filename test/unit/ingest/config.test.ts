import { describe, expect, it } from 'vitest';
import { readIngestLimits } from '../../../ingest/config.js';
import { ConfigError } from '../../../platform/setting.js';

describe('ingest limits', () => {
  it('has defaults that keep every limit on', () => {
    expect(readIngestLimits({})).toEqual({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 15_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 2048,
      bodyBudgetBytes: 64 * 1024 * 1024,
      largeBodyBudgetBytes: 50 * 1024 * 1024,
    });
  });

  it('reads each setting', () => {
    expect(
      readIngestLimits({
        RUNSTREAM_INGEST_HEADERS_TIMEOUT: '2s',
        RUNSTREAM_INGEST_REQUEST_TIMEOUT: '5s',
        RUNSTREAM_INGEST_KEEPALIVE_TIMEOUT: '90s',
        RUNSTREAM_INGEST_MAX_CONNECTIONS: '100',
        RUNSTREAM_INGEST_BODY_BUDGET: '128MiB',
        RUNSTREAM_INGEST_LARGE_BODY_BUDGET: '100MiB',
      }),
    ).toEqual({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 90_000,
      maxConnections: 100,
      bodyBudgetBytes: 128 * 1024 * 1024,
      largeBodyBudgetBytes: 100 * 1024 * 1024,
    });
  });

  it('refuses limits that contradict each other, naming the setting', () => {
    const refused = (env: Record<string, string>) => {
      try {
        readIngestLimits(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).variable;
      }
      return 'accepted';
    };
    expect(refused({ RUNSTREAM_INGEST_HEADERS_TIMEOUT: '20s' })).toBe('RUNSTREAM_INGEST_HEADERS_TIMEOUT');
    expect(refused({ RUNSTREAM_INGEST_LARGE_BODY_BUDGET: '24MiB' })).toBe(
      'RUNSTREAM_INGEST_LARGE_BODY_BUDGET',
    );
    expect(refused({ RUNSTREAM_INGEST_BODY_BUDGET: '32MiB' })).toBe('RUNSTREAM_INGEST_LARGE_BODY_BUDGET');
    expect(refused({ RUNSTREAM_INGEST_MAX_CONNECTIONS: '0' })).toBe('RUNSTREAM_INGEST_MAX_CONNECTIONS');
    expect(
      refused({ RUNSTREAM_INGEST_BODY_BUDGET: '32MiB', RUNSTREAM_INGEST_LARGE_BODY_BUDGET: '25MiB' }),
    ).toBe('accepted');
  });
});
