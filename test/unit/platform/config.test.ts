// Settings from the environment: the forms accepted, the default as the table shows
// it, and one clear error naming the variable for anything else.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readIngestConfig } from '../../../ingest/config.js';
import { MIN_WEBHOOK_SECRET_LENGTH, readWebhookSecrets } from '../../../platform/config.js';
import { bytesSetting, ConfigError, durationSetting, formatDuration } from '../../../platform/setting.js';

const doc = (name: string) => ({
  name,
  meaning: 'm',
  commands: ['processor'] as const,
  section: 'processing' as const,
});

describe('bytesSetting', () => {
  const size = bytesSetting(doc('RUNSTREAM_STORE_CACHE_SIZE'), 7);

  it('takes bytes or KiB, MiB and GiB, and the default when unset', () => {
    expect(size.read({})).toBe(7);
    expect(size.read({ RUNSTREAM_STORE_CACHE_SIZE: '4096' })).toBe(4096);
    expect(size.read({ RUNSTREAM_STORE_CACHE_SIZE: '512KiB' })).toBe(512 * 1024);
    expect(size.read({ RUNSTREAM_STORE_CACHE_SIZE: '2MiB' })).toBe(2 * 1024 * 1024);
    expect(size.read({ RUNSTREAM_STORE_CACHE_SIZE: '1.5 GiB' })).toBe(1.5 * 1024 ** 3);
    expect(bytesSetting(doc('S'), 2 * 1024 * 1024).shown).toBe('`2MiB`');
  });

  it('refuses anything else with one line naming the variable', () => {
    for (const raw of ['2MB', '-1', 'lots', '4GiB']) {
      expect(() => size.read({ RUNSTREAM_STORE_CACHE_SIZE: raw })).toThrow(ConfigError);
      expect(() => size.read({ RUNSTREAM_STORE_CACHE_SIZE: raw })).toThrow(/^RUNSTREAM_STORE_CACHE_SIZE: /);
    }
  });
});

describe('durationSetting', () => {
  it('takes ms, s, m, h and d', () => {
    const d = durationSetting(doc('D'), 1000);
    expect(d.read({ D: '500ms' })).toBe(500);
    expect(d.read({ D: '10s' })).toBe(10_000);
    expect(d.read({ D: '35d' })).toBe(35 * 86_400_000);
    expect(() => d.read({ D: '0s' })).toThrow(/^D: expected a positive duration/);
  });

  it('shows its default as an operator writes it', () => {
    expect([86_400_000, 4 * 86_400_000, 60_000, 30_000, 6 * 3_600_000, 1500].map(formatDuration)).toEqual([
      '24h',
      '4d',
      '60s',
      '30s',
      '6h',
      '1500ms',
    ]);
  });
});

describe('webhook secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runstream-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const LONG = 'f'.repeat(63).concat('0'); // as `openssl rand -hex 32` gives
  const warningsOf = (env: Record<string, string>) => readIngestConfig(env).warnings;

  it('split on commas and newlines, in the variable and in the file alike (a comma cuts a secret in two)', () => {
    const file = join(dir, 'secrets');
    writeFileSync(file, `${LONG}\r\nold,with comma \n\n`);
    expect(readWebhookSecrets({ RUNSTREAM_WEBHOOK_SECRET_FILE: file })).toEqual([LONG, 'old', 'with comma']);
    expect(readWebhookSecrets({ RUNSTREAM_WEBHOOK_SECRET: `${LONG}, old\nnew` })).toEqual([
      LONG,
      'old',
      'new',
    ]);
  });

  it('one warning line for secrets under 32 characters, naming the variable and never the value', () => {
    const short = 'hunter2-is-short';
    const [warning, ...more] = warningsOf({ RUNSTREAM_WEBHOOK_SECRET: short });
    expect(more).toEqual([]);
    expect(warning).toMatch(/^RUNSTREAM_WEBHOOK_SECRET: the secret is shorter than 32 characters: /);
    expect(warning).not.toContain(short);
    const file = join(dir, 'rotation');
    writeFileSync(file, `${LONG}\n${short}\n`);
    const fromFile = warningsOf({ RUNSTREAM_WEBHOOK_SECRET_FILE: file });
    expect(fromFile).toHaveLength(1);
    expect(fromFile[0]).toMatch(
      /^RUNSTREAM_WEBHOOK_SECRET_FILE: secret #2 of 2 is shorter than 32 characters/,
    );
    expect(fromFile[0]).not.toContain(short);
    expect(fromFile[0]).not.toContain(LONG);
  });

  it('says nothing from 32 characters on', () => {
    expect(MIN_WEBHOOK_SECRET_LENGTH).toBe(32);
    expect(warningsOf({ RUNSTREAM_WEBHOOK_SECRET: 'x'.repeat(32) })).toEqual([]);
    expect(warningsOf({ RUNSTREAM_WEBHOOK_SECRET: 'x'.repeat(31) })).toHaveLength(1);
    expect(warningsOf({ RUNSTREAM_WEBHOOK_SECRET: `${LONG},${'é'.repeat(32)}` })).toEqual([]);
  });
});
