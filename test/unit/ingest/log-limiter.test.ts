import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../ingest/log-limiter.js';

describe('LogLimiter', () => {
  it('writes at most N lines a kind per interval, and says how many it left out', () => {
    const limiter = new LogLimiter({ lines: 3, intervalMs: 1000 });
    const at = (now: number, kind = 'bad_signature') => limiter.admit(kind, now);
    expect([at(0), at(10), at(20)]).toEqual([
      { write: true, suppressed: 0 },
      { write: true, suppressed: 0 },
      { write: true, suppressed: 0 },
    ]);
    for (let i = 0; i < 500; i++) expect(at(30 + i)).toEqual({ write: false });
    // Another kind has its own allowance.
    expect(at(600, 'malformed')).toEqual({ write: true, suppressed: 0 });
    expect(at(999)).toEqual({ write: false });
    // The next interval's first line reports the 501 left out.
    expect(at(1000)).toEqual({ write: true, suppressed: 501 });
    expect(at(1001)).toEqual({ write: true, suppressed: 0 });
  });

  it('summarises a flood that stopped once its interval is over, and only once', () => {
    const limiter = new LogLimiter({ lines: 1, intervalMs: 1000 });
    limiter.admit('timeout', 0);
    limiter.admit('timeout', 1);
    limiter.admit('timeout', 2);
    limiter.admit('quiet', 5);
    expect(limiter.flush(999)).toEqual([]);
    expect(limiter.flush(1005)).toEqual([{ kind: 'timeout', suppressed: 2 }]);
    expect(limiter.flush(5000)).toEqual([]);
    // Reported already: the next line does not repeat it.
    expect(limiter.admit('timeout', 5001)).toEqual({ write: true, suppressed: 0 });
  });
});
