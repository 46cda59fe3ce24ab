// The ingest decision as a pure function of the request: which HTTP answer, which
// metric result, and the Delivery to publish. Checks run in this order so that an
// unauthenticated sender learns nothing beyond 401 (signature before anything else).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { badDeliveryIdReason, buildDelivery, type Delivery, deliveryIdOf } from '../schemas/delivery.js';

export const MAX_BODY_BYTES = 25 * 1024 * 1024;
export const HANDLED_EVENTS = new Set(['workflow_run', 'workflow_job']);

export type IngestResult = 'accepted' | 'ignored' | 'bad_signature' | 'malformed' | 'unavailable';

export type WebhookDecision =
  | { kind: 'publish'; delivery: Delivery; key: string }
  | { kind: 'answer'; status: number; result: IngestResult; message: string; event: string };

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * HMAC-SHA256 over the raw bytes, compared in constant time against every configured
 * secret (several during a rotation). The raw bytes are never decoded first: GitHub
 * signs bytes, and re-serialised JSON would not match.
 */
export function verifySignature(
  secrets: readonly string[],
  body: Buffer,
  signatureHeader: string | undefined,
): boolean {
  if (!signatureHeader?.startsWith('sha256=')) return false;
  const given = Buffer.from(signatureHeader.slice('sha256='.length), 'hex');
  if (given.length !== 32) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // No early exit: every secret is tried, so timing does not tell which one matched.
    ok = timingSafeEqual(expected, given) || ok;
  }
  return ok;
}

export interface WebhookRequest {
  headers: Headers;
  body: Buffer;
  receivedAt: number;
}

/** The `event` label of a request's metrics: a handled event, `ping`, or `other` (bounded). */
export function metricEventOf(headers: Headers): string {
  const event = header(headers, 'x-github-event');
  return event && HANDLED_EVENTS.has(event) ? event : event === 'ping' ? 'ping' : 'other';
}

export function decideWebhook(request: WebhookRequest, secrets: readonly string[]): WebhookDecision {
  const event = header(request.headers, 'x-github-event');
  const metricEvent = metricEventOf(request.headers);
  const answer = (status: number, result: IngestResult, message: string): WebhookDecision => ({
    kind: 'answer',
    status,
    result,
    message,
    event: metricEvent,
  });

  if (!verifySignature(secrets, request.body, header(request.headers, 'x-hub-signature-256'))) {
    return answer(401, 'bad_signature', 'missing or invalid X-Hub-Signature-256');
  }
  const deliveryId = header(request.headers, 'x-github-delivery');
  if (!deliveryId || !event) {
    return answer(400, 'malformed', 'missing X-GitHub-Delivery or X-GitHub-Event header');
  }
  // The delivery id is not signed: only GitHub's form is accepted, whatever the event,
  // so that no id can be anything but a GUID downstream (it is the dedupe key).
  if (deliveryIdOf(deliveryId) === undefined) {
    return answer(400, 'malformed', `X-GitHub-Delivery: ${badDeliveryIdReason(deliveryId)}`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request.body.toString('utf8'));
  } catch {
    return answer(400, 'malformed', 'body is not valid JSON (is the webhook content type application/json?)');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return answer(400, 'malformed', 'body is not a JSON object');
  }
  // Counted as ignored (DESIGN's results); the event label "ping" tells it apart.
  if (event === 'ping') return answer(200, 'ignored', 'pong');
  if (!HANDLED_EVENTS.has(event)) return answer(202, 'ignored', `event ${event} is not used by runstream`);

  const built = buildDelivery({
    id: deliveryId,
    event,
    body: request.body,
    payload,
    receivedAt: request.receivedAt,
    source: 'webhook',
    hookId: header(request.headers, 'x-github-hook-id') ?? null,
    installationTargetType: header(request.headers, 'x-github-hook-installation-target-type') ?? null,
    installationTargetId: header(request.headers, 'x-github-hook-installation-target-id') ?? null,
  });
  if ('error' in built) return answer(400, 'malformed', built.error);
  return { kind: 'publish', ...built };
}
