// Every ingest (`runstream ingest`, and the one inside `all`) refuses the development
// secret unless it binds loopback, whether the secret comes from the variable or a file.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readIngestConfig } from '../../../ingest/config.js';
import { ConfigError } from '../../../platform/config.js';
import { useTempDir } from '../../support/temp-dir.js';

describe('readIngestConfig and the development secret', () => {
  const path = useTempDir('runstream-ingest-config-');

  it('refuses it on the default address (0.0.0.0), naming the setting it came from', () => {
    expect(() => readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 'dev-secret' })).toThrow(ConfigError);
    expect(() => readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 'new,dev-secret' })).toThrow(
      /^RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback \(RUNSTREAM_HOST is 0\.0\.0\.0\)/,
    );
    expect(() =>
      readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 'dev-secret', RUNSTREAM_HOST: '10.1.2.3' }),
    ).toThrow(/\(RUNSTREAM_HOST is 10\.1\.2\.3\)/);
  });

  it('refuses it from a secret file too', () => {
    writeFileSync(path('secret'), 'dev-secret\n');
    expect(() => readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET_FILE: path('secret') })).toThrow(
      /^RUNSTREAM_WEBHOOK_SECRET_FILE: the development secret/,
    );
  });

  it('takes it on loopback, and a real secret on any address', () => {
    expect(
      readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 'dev-secret', RUNSTREAM_HOST: '127.0.0.1' }),
    ).toMatchObject({ host: '127.0.0.1', secrets: ['dev-secret'] });
    expect(readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 's3cret' })).toMatchObject({
      host: '0.0.0.0',
      secrets: ['s3cret'],
    });
  });
});

describe('readIngestConfig and the metrics port', () => {
  const env = { RUNSTREAM_WEBHOOK_SECRET: 's3cret' };

  it('serves /metrics on the ingest port unless RUNSTREAM_INGEST_METRICS_PORT is set', () => {
    expect(readIngestConfig(env)).not.toHaveProperty('metricsPort');
    expect(readIngestConfig({ ...env, RUNSTREAM_INGEST_METRICS_PORT: '9401' })).toMatchObject({
      port: 8080,
      metricsPort: 9401,
    });
  });

  it('refuses a metrics port that is not a port, or is the ingest port', () => {
    expect(() => readIngestConfig({ ...env, RUNSTREAM_INGEST_METRICS_PORT: 'metrics' })).toThrow(
      /^RUNSTREAM_INGEST_METRICS_PORT: expected an integer/,
    );
    expect(() =>
      readIngestConfig({ ...env, RUNSTREAM_INGEST_PORT: '9000', RUNSTREAM_INGEST_METRICS_PORT: '9000' }),
    ).toThrow(
      'RUNSTREAM_INGEST_METRICS_PORT: is RUNSTREAM_INGEST_PORT too (9000); unset it, or give another port',
    );
  });
});
