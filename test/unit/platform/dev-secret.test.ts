// The development secret stays on loopback: which bind addresses count as loopback, and
// the one line an ingest given the secret elsewhere stops with.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../platform/config.js';
import { DEV_SECRET, isLoopback, refuseDevSecretOffLoopback } from '../../../platform/dev-secret.js';

describe('isLoopback', () => {
  it('takes 127.0.0.0/8, ::1 in any spelling, a v4-mapped loopback and localhost', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopback(host), host).toBe(true);
    }
  });

  it('refuses the wildcards, other addresses and names', () => {
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      '::2',
      'example.com',
      'localhost.example.com',
      '127.0.0.1.example.com',
      '',
    ]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});

describe('refuseDevSecretOffLoopback', () => {
  it('refuses the development secret, alone or in a rotation, off loopback with one line', () => {
    for (const secrets of [[DEV_SECRET], ['real-secret', DEV_SECRET]]) {
      const refuse = () =>
        refuseDevSecretOffLoopback(secrets, '0.0.0.0', 'RUNSTREAM_WEBHOOK_SECRET', 'RUNSTREAM_HOST');
      expect(refuse).toThrow(ConfigError);
      expect(refuse).toThrow(
        'RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback (RUNSTREAM_HOST is 0.0.0.0): set the secret GitHub signs with, or RUNSTREAM_HOST=127.0.0.1',
      );
    }
  });

  it('lets it through on loopback, and any other secret anywhere', () => {
    expect(() => refuseDevSecretOffLoopback([DEV_SECRET], '127.0.0.1', 'S', 'H')).not.toThrow();
    expect(() => refuseDevSecretOffLoopback(['dev-secret-2', 'x'], '0.0.0.0', 'S', 'H')).not.toThrow();
  });
});
