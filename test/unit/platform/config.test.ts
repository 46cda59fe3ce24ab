// Settings from the environment: the forms accepted, the default as the table shows
// it, and one clear error naming the variable for anything else.
import { describe, expect, it } from 'vitest';
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
