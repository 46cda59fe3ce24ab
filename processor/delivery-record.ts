// A record of the deliveries topic as the processor reads it, and what it says: its
// delivery id, when it was received, and its observation (pure: no state is read).
import { UnknownSchemaError } from '../schemas/avro-codec.js';
import { codecs } from '../schemas/codecs.js';
import { badDeliveryIdReason, type DeliveryId, deliveryIdOf } from '../schemas/delivery.js';
import { embeddedObservationOf, type ParseResult, parseDelivery } from '../schemas/observation.js';

export interface InputRecord {
  offset: string;
  value: Buffer | null;
}

/** A record that could not be read (invalid), or its delivery id, receive time and what its payload says. */
export type DecodedRecord =
  | { ok: false; deliveryId: string | null; reason: string }
  | { ok: true; deliveryId: DeliveryId; receivedAt: number; parsed: ParseResult };

/**
 * Pure: the record's delivery id and, when it decodes, what its payload says: the
 * observation the envelope carries when this parser version made it, or else the body
 * parsed here (older records, other parser versions, payloads that did not reduce).
 * A record whose id is not a GUID is invalid (an older ingest or another producer may
 * have written one): its id is never a dedupe key.
 */
export function decodeRecord(record: InputRecord): DecodedRecord {
  if (!record.value) return { ok: false, deliveryId: null, reason: 'record has no value' };
  // The envelope without its body first (avsc would copy the body out); the body only
  // when the observation has to come from it.
  let delivery: ReturnType<typeof codecs.deliveryHead.decode>;
  let deliveryId: DeliveryId | undefined;
  let body: Buffer;
  try {
    delivery = codecs.deliveryHead.decode(record.value);
    deliveryId = deliveryIdOf(delivery.id);
    if (deliveryId === undefined)
      return { ok: false, deliveryId: null, reason: badDeliveryIdReason(delivery.id) };
    const embedded = embeddedObservationOf(delivery.event, delivery.observation);
    if (embedded) {
      const parsed: ParseResult = { ok: true, observation: embedded };
      return { ok: true, deliveryId, receivedAt: delivery.receivedAt, parsed };
    }
    body = codecs.delivery.decode(record.value).body;
  } catch (error) {
    // A newer writer's record is not invalid: skipping it would lose it for good. The
    // chunk fails, nothing is committed, and the partition waits for this processor's upgrade.
    if (error instanceof UnknownSchemaError) throw error;
    return { ok: false, deliveryId: null, reason: (error as Error).message };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return {
      ok: true,
      deliveryId,
      receivedAt: delivery.receivedAt,
      parsed: { ok: false, reason: `body is not JSON: ${(error as Error).message}` },
    };
  }
  const parsed = parseDelivery(delivery.event, payload);
  return { ok: true, deliveryId, receivedAt: delivery.receivedAt, parsed };
}
