// Sizes and durations from the environment: the forms accepted, and one clear error
// naming the variable for anything else.
import { describe, expect, it } from 'vitest';
import { ConfigError, readBytes, readDurationMs } from '../../../platform/config.js';

describe('readBytes', () => {
  it('takes bytes or KiB, MiB and GiB, and the fallback when unset', () => {
    expect(readBytes({}, 'S', 7)).toBe(7);
    expect(readBytes({ S: '4096' }, 'S', 0)).toBe(4096);
    expect(readBytes({ S: '512KiB' }, 'S', 0)).toBe(512 * 1024);
    expect(readBytes({ S: '2MiB' }, 'S', 0)).toBe(2 * 1024 * 1024);
    expect(readBytes({ S: '1.5 GiB' }, 'S', 0)).toBe(1.5 * 1024 ** 3);
  });

  it('refuses anything else with one line naming the variable', () => {
    for (const raw of ['2MB', '-1', 'lots', '4GiB']) {
      expect(() => readBytes({ RUNSTREAM_STORE_CACHE_SIZE: raw }, 'RUNSTREAM_STORE_CACHE_SIZE', 0)).toThrow(
        ConfigError,
      );
      expect(() => readBytes({ RUNSTREAM_STORE_CACHE_SIZE: raw }, 'RUNSTREAM_STORE_CACHE_SIZE', 0)).toThrow(
        /RUNSTREAM_STORE_CACHE_SIZE/,
      );
    }
  });
});

describe('readDurationMs', () => {
  it('takes ms, s, m, h and d', () => {
    expect(readDurationMs({ D: '500ms' }, 'D', 0)).toBe(500);
    expect(readDurationMs({ D: '10s' }, 'D', 0)).toBe(10_000);
    expect(readDurationMs({ D: '35d' }, 'D', 0)).toBe(35 * 86_400_000);
  });
});
