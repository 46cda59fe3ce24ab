// The GUID rule for delivery ids, against an oracle written character by character
// from GitHub's documented form (8-4-4-4-12 hex digits), not from the rule's regex.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDelivery, deliveryIdOf, deliveryKey, partitionForKey } from '../../../schemas/delivery.js';
import { example } from '../../support/webhooks.js';

const HEX = '0123456789abcdefABCDEF';
const DASHES = new Set([8, 13, 18, 23]);

/** The oracle: 36 characters, '-' at 8, 13, 18 and 23, a hex digit everywhere else. */
function isGuidOracle(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s[i]!;
    if (DASHES.has(i) ? c !== '-' : !HEX.includes(c)) return false;
  }
  return true;
}

/** Strings near the GUID form: GUIDs, edited GUIDs, and arbitrary text. */
const candidates = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc
    .tuple(fc.uuid(), fc.nat(35), fc.string({ minLength: 0, maxLength: 2 }))
    .map(([u, i, s]) => u.slice(0, i) + s + u.slice(i + 1)),
  fc.tuple(fc.uuid(), fc.string({ maxLength: 3 })).map(([u, s]) => u + s),
  fc.tuple(fc.string({ maxLength: 3 }), fc.uuid()).map(([s, u]) => s + u),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('deliveryIdOf', () => {
  it('accepts exactly the 8-4-4-4-12 hex form, and spells it in lower case', () => {
    fc.assert(
      fc.property(candidates, (s) => {
        const id = deliveryIdOf(s);
        expect(id !== undefined).toBe(isGuidOracle(s));
        if (id !== undefined) {
          expect(id).toBe(s.toLowerCase());
          expect(/[A-F]/.test(id)).toBe(false);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("accepts GitHub's documented example", () => {
    expect(deliveryIdOf('72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });

  it('gives every spelling of one GUID the same id (no delivery counts under two spellings)', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }), (u, upper) => {
        const spelled = [...u].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
        expect(deliveryIdOf(spelled)).toBe(deliveryIdOf(u));
      }),
    );
  });
});

describe('buildDelivery', () => {
  const payload = example('workflow_job', 'completed');
  const fields = (id: string) => ({
    id,
    event: 'workflow_job',
    body: Buffer.from(JSON.stringify(payload)),
    payload,
    receivedAt: 1,
    source: 'replay' as const,
  });

  it('refuses an id that is not a GUID, quoting it', () => {
    expect(buildDelivery(fields('retired:run:1:1'))).toEqual({
      error: expect.stringContaining('delivery id "retired:run:1:1" is not a GUID'),
    });
  });

  it('builds every Delivery under the canonical spelling', () => {
    const built = buildDelivery(fields('72D3162E-CC78-11E3-81AB-4C9367DC0958'));
    expect('delivery' in built && built.delivery.id).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });
});

describe('partitionForKey', () => {
  // The oracle: Kafka's Java murmur2 (Utils.murmur2), written here from the Java source,
  // and its partition rule: positive hash modulo the partition count.
  function murmur2(data: Buffer): number {
    const m = 0x5bd1e995;
    let h = 0x9747b28c ^ data.length;
    const whole = data.length & ~3;
    for (let i = 0; i < whole; i += 4) {
      let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
      k = Math.imul(k, m);
      k ^= k >>> 24;
      k = Math.imul(k, m);
      h = Math.imul(h, m) ^ k;
    }
    const rest = data.length & 3;
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    if (rest >= 1) h = Math.imul(h ^ data[whole]!, m);
    h ^= h >>> 13;
    h = Math.imul(h, m);
    h ^= h >>> 15;
    return h | 0;
  }
  const javaPartition = (key: string, partitions: number) =>
    (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;

  it('the oracle is Kafka’s murmur2 (its own test vectors)', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it('partitions as Java clients do, asked once or again, past its bound of remembered keys', () => {
    for (const partitions of [1, 3, 12, 64]) {
      for (let round = 0; round < 2; round += 1) {
        for (let runId = 30_433_642; runId < 30_433_642 + 12_000; runId += 1) {
          const key = deliveryKey(runId);
          if (partitionForKey(key, partitions) !== javaPartition(key, partitions)) {
            expect.fail(`key ${key} over ${partitions} partitions`);
          }
        }
      }
    }
  });
});
