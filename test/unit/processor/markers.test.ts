// The dedupe changelog's two key spaces: no delivery id, however spelled, is a retired
// marker, in the changelog or in the store.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveryMarkerKey, retiredMarkerKey } from '../../../processor/markers.js';
import { storeKey } from '../../../processor/store-layout.js';
import { deliveryIdOf } from '../../../schemas/delivery.js';

describe('delivery ids and retired markers', () => {
  it('keeps delivery markers and retired markers in disjoint key spaces', () => {
    const kinds = fc.constantFrom('run' as const, 'job' as const);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uuid(),
          fc.string(),
          fc.uuid().map((u) => u.toUpperCase()),
        ),
        kinds,
        fc.string(),
        (raw, kind, key) => {
          const marker = retiredMarkerKey(kind, key);
          // No id, however spelled, is a retired marker, in the changelog or in the store.
          expect(deliveryIdOf(marker)).toBeUndefined();
          const id = deliveryIdOf(raw);
          if (id === undefined) return;
          expect(deliveryMarkerKey(id)).not.toBe(marker);
          expect(storeKey('dedupe', deliveryMarkerKey(id))).not.toBe(storeKey('dedupe', marker));
          // Why: a delivery key is hex digits and dashes only; a retired marker has a ':'.
          expect(deliveryMarkerKey(id)).toMatch(/^[0-9a-f-]{36}$/);
          expect(marker).toContain(':');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
