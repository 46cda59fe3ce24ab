// `runstream all` on a fresh machine (no variable set: the quickstart) runs with the
// development secret on loopback; an operator's address or secret is never overridden.
import { describe, expect, it } from 'vitest';
import { allEnvironment, startAll } from '../../../cli/all.js';
import { ConfigError, type Env } from '../../../platform/config.js';
import { createLogger } from '../../../platform/log.js';

function run(env: Env): { env: Env; warnings: string[] } {
  const warnings: string[] = [];
  return { env: allEnvironment(env, (m) => warnings.push(m)), warnings };
}

describe('allEnvironment', () => {
  it('with nothing set: the development secret, listening on 127.0.0.1 only, said once', () => {
    expect(run({})).toEqual({
      env: { RUNSTREAM_WEBHOOK_SECRET: 'dev-secret', RUNSTREAM_HOST: '127.0.0.1' },
      warnings: [
        'RUNSTREAM_WEBHOOK_SECRET is not set; using the development secret "dev-secret", listening on 127.0.0.1 only',
      ],
    });
    // An empty variable is unset.
    expect(run({ RUNSTREAM_WEBHOOK_SECRET: '', RUNSTREAM_HOST: ' ' }).env).toMatchObject({
      RUNSTREAM_WEBHOOK_SECRET: 'dev-secret',
      RUNSTREAM_HOST: '127.0.0.1',
    });
  });

  it('the development secret given explicitly binds loopback by default too', () => {
    expect(run({ RUNSTREAM_WEBHOOK_SECRET: 'dev-secret' })).toEqual({
      env: { RUNSTREAM_WEBHOOK_SECRET: 'dev-secret', RUNSTREAM_HOST: '127.0.0.1' },
      warnings: ['using the development secret "dev-secret", listening on 127.0.0.1 only'],
    });
  });

  it('keeps an address the operator set, and a real secret on the usual default', () => {
    expect(run({ RUNSTREAM_HOST: '0.0.0.0' }).env).toEqual({
      RUNSTREAM_HOST: '0.0.0.0',
      RUNSTREAM_WEBHOOK_SECRET: 'dev-secret',
    });
    expect(run({ RUNSTREAM_WEBHOOK_SECRET: 'real' })).toEqual({
      env: { RUNSTREAM_WEBHOOK_SECRET: 'real' },
      warnings: [],
    });
  });
});

describe('startAll', () => {
  it('refuses the development secret on an explicit non-loopback address before touching Kafka', async () => {
    const start = startAll({ RUNSTREAM_HOST: '0.0.0.0', KAFKA_BROKERS: '127.0.0.1:1' }, (role) =>
      createLogger(role, 'silent', 'json'),
    );
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(
      /^RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback \(RUNSTREAM_HOST is 0\.0\.0\.0\)/,
    );
  });
});
