import { describe, expect, it } from 'vitest';
import { loggedDeliveryId, loggedHeader, MAX_LOGGED_CHARS } from '../../../ingest/log-fields.js';

describe('log fields from request headers', () => {
  it('keeps a delivery id only when it is a GUID', () => {
    expect(loggedDeliveryId('72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe(
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
    expect(loggedDeliveryId(['72D3162E-CC78-11E3-81AB-4C9367DC0958', 'x'])).toBe(
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
    expect(loggedDeliveryId('72d3162e-cc78-11e3-81ab-4c9367dc0958\nfake line')).toBeUndefined();
    expect(loggedDeliveryId('x'.repeat(10_000))).toBeUndefined();
    expect(loggedDeliveryId(undefined)).toBeUndefined();
  });

  it('cuts header values and escapes what is not printable ASCII', () => {
    expect(loggedHeader('workflow_job')).toBe('workflow_job');
    expect(loggedHeader('a\nb\u001b[31m\\é')).toBe('a\\u000ab\\u001b[31m\\\\\\u00e9');
    const long = loggedHeader('y'.repeat(100_000))!;
    expect(long).toBe(`${'y'.repeat(MAX_LOGGED_CHARS)}…(100000 chars)`);
    expect(loggedHeader(undefined)).toBeUndefined();
  });
});
