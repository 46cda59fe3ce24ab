// The Delivery contract: the Avro envelope of one webhook delivery on
// `<prefix>deliveries` (evolve additively only, new fields with defaults, and register
// each version in registry.ts), how one is built, and how it is keyed and partitioned:
// by its workflow run id, so every event of a run and of its jobs lands in one
// partition with one owner. The partition is the Java producer's rule for a key
// (partitioner.ts; kafkajs' default is the same), the rule every producer of the
// topic has used; a changelog record derived from partition p goes to changelog
// partition p.
import {
  type EmbeddedObservation,
  embeddedObservationSchema,
  embeddedObservationSchemaV2,
  embedObservation,
} from './observation.js';
import { isJsonObject, runIdOf } from './payload.js';

export { partitionForKey } from './partitioner.js';

export const deliverySchemaV1 = {
  type: 'record',
  name: 'Delivery',
  namespace: 'dev.runstream',
  doc: 'One GitHub webhook delivery, with the body exactly as received.',
  fields: [
    { name: 'id', type: 'string', doc: 'X-GitHub-Delivery GUID; the dedupe key' },
    { name: 'event', type: 'string', doc: 'X-GitHub-Event' },
    { name: 'action', type: ['null', 'string'], default: null },
    { name: 'hookId', type: ['null', 'string'], default: null, doc: 'X-GitHub-Hook-ID' },
    { name: 'installationTargetType', type: ['null', 'string'], default: null },
    { name: 'installationTargetId', type: ['null', 'string'], default: null },
    {
      name: 'receivedAt',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'when ingest accepted it',
    },
    { name: 'source', type: { type: 'enum', name: 'DeliverySource', symbols: ['webhook', 'replay'] } },
    { name: 'runId', type: ['null', 'long'], default: null, doc: 'workflow run id, also the record key' },
    { name: 'body', type: 'bytes', doc: 'the raw request body, byte-identical' },
  ],
} as const;

/**
 * V2 adds what the body says as the processor reads it (observation.ts), computed once
 * where the delivery is built (ingest has parsed the body anyway), so that a processor
 * of the same parser version need not parse the body again. Null when the body does not
 * reduce to an observation; V1 records read as null.
 */
export const deliverySchemaV2 = {
  ...deliverySchemaV1,
  fields: [
    ...deliverySchemaV1.fields,
    {
      name: 'observation',
      type: ['null', embeddedObservationSchema],
      default: null,
      doc: 'parseDelivery of the body by the version it names, or null: parse the body',
    },
  ],
} as const;

/** V3 embeds the observation with the job's name (embeddedObservationSchemaV2). */
export const deliverySchemaV3 = {
  ...deliverySchemaV1,
  fields: [
    ...deliverySchemaV1.fields,
    {
      name: 'observation',
      type: ['null', embeddedObservationSchemaV2],
      default: null,
      doc: 'parseDelivery of the body by the version it names, or null: parse the body',
    },
  ],
} as const;

export interface Delivery {
  id: string;
  event: string;
  action: string | null;
  hookId: string | null;
  installationTargetType: string | null;
  installationTargetId: string | null;
  receivedAt: number;
  source: 'webhook' | 'replay';
  runId: number | null;
  body: Buffer;
  observation: EmbeddedObservation | null;
}

export interface DeliveryFields {
  /** X-GitHub-Delivery. */
  id: string;
  /** X-GitHub-Event. */
  event: string;
  /** The body exactly as GitHub sent (and signed) it. */
  body: Buffer;
  /** The body, parsed. */
  payload: unknown;
  receivedAt: number;
  source: Delivery['source'];
  hookId?: string | null;
  installationTargetType?: string | null;
  installationTargetId?: string | null;
}

/**
 * A delivery id as GitHub sends it in X-GitHub-Delivery: a GUID, 8-4-4-4-12 hex digits
 * (`72d3162e-cc78-11e3-81ab-4c9367dc0958`), in its canonical lower-case spelling. Only
 * deliveryIdOf makes one, so a dedupe key is always a GUID: no id can reach the
 * processor's own markers (retired entities), which are not GUIDs.
 */
export type DeliveryId = string & { readonly __deliveryId: unique symbol };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The GUID rule, the one place it is written (ingest, replay and the processor all use
 * it). GitHub sends lower-case hex; upper case is accepted (RFC 4122: case-insensitive
 * on input) and normalised, so one delivery can never be counted under two spellings.
 * Braces, URN prefixes or any other form are refused.
 */
export function deliveryIdOf(raw: string): DeliveryId | undefined {
  return GUID.test(raw) ? (raw.toLowerCase() as DeliveryId) : undefined;
}

/** Why an id is refused, quoting (at most 64 characters of) it. */
export function badDeliveryIdReason(raw: string): string {
  const shown = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  return `delivery id ${JSON.stringify(shown)} is not a GUID (X-GitHub-Delivery is 8-4-4-4-12 hex digits, like 72d3162e-cc78-11e3-81ab-4c9367dc0958)`;
}

/** A Delivery and its record key. */
export interface KeyedDelivery {
  key: string;
  delivery: Delivery;
}

/**
 * The Delivery of one workflow_run or workflow_job event, or why it cannot be one. Its
 * id is the canonical GUID (deliveryIdOf); any other id is refused.
 */
export function buildDelivery(fields: DeliveryFields): KeyedDelivery | { error: string } {
  const id = deliveryIdOf(fields.id);
  if (id === undefined) return { error: badDeliveryIdReason(fields.id) };
  const runId = runIdOf(fields.event, fields.payload);
  if (runId === null) return { error: `${fields.event} payload has no workflow run id` };
  const action = isJsonObject(fields.payload) ? fields.payload.action : undefined;
  return {
    key: deliveryKey(runId),
    delivery: {
      id,
      event: fields.event,
      action: typeof action === 'string' ? action : null,
      hookId: fields.hookId ?? null,
      installationTargetType: fields.installationTargetType ?? null,
      installationTargetId: fields.installationTargetId ?? null,
      receivedAt: fields.receivedAt,
      source: fields.source,
      runId,
      body: fields.body,
      observation: embedObservation(fields.event, fields.payload),
    },
  };
}

/** The record key of a run's deliveries: its run id in decimal. */
export function deliveryKey(runId: number): string {
  return String(runId);
}
