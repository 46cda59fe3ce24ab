// The delivery archive: NDJSON (optionally gzip), one delivery per line, carrying the
// delivery headers and the body exactly as received. Written by `runstream export`,
// read by `runstream replay --file`. See docs/replay.md for the format.
import { badDeliveryIdReason, buildDelivery, type Delivery, deliveryIdOf } from '../schemas/delivery.js';
import { isJsonObject } from '../schemas/payload.js';

export interface ArchiveLine {
  /** X-GitHub-Delivery. */
  id: string;
  /** X-GitHub-Event. */
  event: string;
  /** The delivery's headers as received (lower-case names), signature excluded. */
  headers: Record<string, string>;
  /** When the delivery was first received (ISO 8601). */
  receivedAt: string;
  /** The request body, exactly as received (UTF-8 JSON text). */
  body: string;
}

/** Headers worth keeping; the signature is dropped (replays are trusted by source). */
const KEPT_HEADERS = [
  'x-github-delivery',
  'x-github-event',
  'x-github-hook-id',
  'x-github-hook-installation-target-type',
  'x-github-hook-installation-target-id',
] as const;

export function toArchiveLine(delivery: Delivery): ArchiveLine {
  const headers: Record<string, string> = {
    'x-github-delivery': delivery.id,
    'x-github-event': delivery.event,
  };
  if (delivery.hookId) headers['x-github-hook-id'] = delivery.hookId;
  if (delivery.installationTargetType)
    headers['x-github-hook-installation-target-type'] = delivery.installationTargetType;
  if (delivery.installationTargetId)
    headers['x-github-hook-installation-target-id'] = delivery.installationTargetId;
  return {
    id: delivery.id,
    event: delivery.event,
    headers,
    receivedAt: new Date(delivery.receivedAt).toISOString(),
    body: delivery.body.toString('utf8'),
  };
}

export type ParsedLine =
  | { kind: 'delivery'; key: string; delivery: Delivery }
  | { kind: 'skipped'; reason: string }
  | { kind: 'invalid'; reason: string };

/**
 * One archive line to the Delivery replay publishes: the original delivery id (so
 * dedupe makes a replay idempotent; a line whose id is not a GUID is invalid, whatever
 * its event), source = replay, keyed as ingest keys it.
 */
export function parseArchiveLine(text: string, now: number): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', reason: `not JSON: ${(error as Error).message}` };
  }
  if (!isJsonObject(raw)) return { kind: 'invalid', reason: 'not a JSON object' };
  const headers = isJsonObject(raw.headers) ? raw.headers : {};
  const header = (name: (typeof KEPT_HEADERS)[number]) => {
    const value = headers[name];
    return typeof value === 'string' && value !== '' ? value : null;
  };
  const id = typeof raw.id === 'string' && raw.id !== '' ? raw.id : header('x-github-delivery');
  const event = typeof raw.event === 'string' && raw.event !== '' ? raw.event : header('x-github-event');
  if (!id) return { kind: 'invalid', reason: 'no delivery id (id or headers["x-github-delivery"])' };
  // Before anything else about the line, whatever its event: the id is the dedupe key.
  if (deliveryIdOf(id) === undefined) return { kind: 'invalid', reason: badDeliveryIdReason(id) };
  if (!event) return { kind: 'invalid', reason: 'no event (event or headers["x-github-event"])' };
  if (typeof raw.body !== 'string') return { kind: 'invalid', reason: 'no body string' };
  if (event !== 'workflow_run' && event !== 'workflow_job')
    return { kind: 'skipped', reason: `event ${event}` };
  let payload: unknown;
  try {
    payload = JSON.parse(raw.body);
  } catch (error) {
    return { kind: 'invalid', reason: `body is not JSON: ${(error as Error).message}` };
  }
  const receivedAt = typeof raw.receivedAt === 'string' ? Date.parse(raw.receivedAt) : Number.NaN;
  const built = buildDelivery({
    id,
    event,
    body: Buffer.from(raw.body, 'utf8'),
    payload,
    receivedAt: Number.isNaN(receivedAt) ? now : receivedAt,
    source: 'replay',
    hookId: header('x-github-hook-id'),
    installationTargetType: header('x-github-hook-installation-target-type'),
    installationTargetId: header('x-github-hook-installation-target-id'),
  });
  if ('error' in built) return { kind: 'invalid', reason: built.error };
  return { kind: 'delivery', ...built };
}
