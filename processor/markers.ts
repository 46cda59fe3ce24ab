// The keys of the dedupe changelog (and of the store's `d|` entries mirroring it).
import type { DeliveryId } from '../schemas/delivery.js';

/**
 * The dedupe changelog holds two key spaces that no key can be in both of: delivery
 * markers, keyed by the canonical GUID (only hex digits and '-': deliveryIdOf), and
 * retired-entity markers, `retired:<kind>:<key>` (they start with 'r' and contain ':',
 * which no GUID does). Every delivery id is checked by deliveryIdOf before it becomes a
 * key, here and at ingest and replay, so no delivery can write or read a retired marker.
 * The format is the one earlier versions wrote: their markers are honoured as they are,
 * with nothing to migrate.
 */
export const deliveryMarkerKey = (id: DeliveryId): string => id;
export const retiredMarkerKey = (kind: 'run' | 'job', key: string): string => `retired:${kind}:${key}`;
