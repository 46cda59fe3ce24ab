import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../platform/config.js';
import { readProcessorConfig } from '../../../processor/config.js';

describe('readProcessorConfig: how deliveries gather into transactions', () => {
  it('waits for 256 KiB or 250 ms by default', () => {
    const config = readProcessorConfig({});
    expect(config.fetchMinBytes).toBe(256 * 1024);
    expect(config.fetchMaxWaitMs).toBe(250);
  });

  it("reads the fast failover's fetches that answer at once", () => {
    const config = readProcessorConfig({
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '2s',
      RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES: '1',
      RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: '100ms',
    });
    expect(config.fetchMinBytes).toBe(1);
    expect(config.fetchMaxWaitMs).toBe(100);
    expect(readProcessorConfig({ RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES: '1MiB' }).fetchMinBytes).toBe(
      1024 * 1024,
    );
  });

  it('refuses a wait over a third of the session, naming the setting (heartbeats go between fetches)', () => {
    const read = () =>
      readProcessorConfig({
        RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '2s',
        RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: '1s',
      });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(
      /^RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: 1000ms is over a third of RUNSTREAM_PROCESSOR_SESSION_TIMEOUT \(2000ms\)/,
    );
    expect(() => readProcessorConfig({ RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: '2s' })).not.toThrow();
  });

  it('refuses a value that is not a size or a duration, naming it', () => {
    expect(() => readProcessorConfig({ RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES: 'lots' })).toThrow(
      /RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES/,
    );
    expect(() => readProcessorConfig({ RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: '0' })).toThrow(
      /RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT/,
    );
  });
});
