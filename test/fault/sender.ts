// Sends a stream of signed deliveries to the ingest replicas the way GitHub does under
// trouble: in bursts, with some deliveries sent twice to different replicas, and every
// delivery not answered 202 (503, a connection refused by a dead replica, a timeout)
// redelivered with the same delivery id to another replica until it is accepted.
// Records every 202 with the partition and offset ingest says the delivery is at.
import type { GeneratedDelivery } from '../../demo/stream.js';
import { signatureOf } from '../support/webhooks.js';

export interface Ack {
  id: string;
  /** Where ingest said it put the delivery. */
  partition: number | undefined;
  offset: string | undefined;
  ingest: string;
}

export interface SendReport {
  acks: Ack[];
  /** Requests answered other than 202, by answer ('503', 'ECONNREFUSED', 'timeout', …). */
  refused: Map<string, number>;
  requests: number;
  /** When the last delivery was accepted. */
  lastAcceptedAt: number;
}

export interface SendOptions {
  /** The ingest replicas to send to now (they change as replicas die and return). */
  targets: () => Array<{ name: string; port: number }>;
  secret: string;
  /** Deliveries per burst, and bursts per second. */
  burst: number;
  burstsPerSecond: number;
  /** Give a delivery up (and fail the run) after this long without a 202. */
  deliveryDeadlineMs?: number;
}

export type Answer =
  | { ok: true; partition: number | undefined; offset: string | undefined }
  | { ok: false; why: string };

/** One POST of a signed delivery to an ingest replica. */
export async function postDelivery(
  delivery: GeneratedDelivery,
  target: { port: number },
  secret: string,
): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(delivery.payload));
  const signature = await signatureOf(secret, body);
  try {
    const response = await fetch(`http://127.0.0.1:${target.port}/webhook`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/fault-suite',
        'x-github-delivery': delivery.id,
        'x-github-event': delivery.event,
        'x-github-hook-id': '4242',
        'x-hub-signature-256': signature,
      },
      signal: AbortSignal.timeout(15_000),
    });
    const answer = (await response.json().catch(() => ({}))) as { partition?: number; offset?: string };
    if (response.status !== 202) return { ok: false, why: String(response.status) };
    return { ok: true, partition: answer.partition, offset: answer.offset };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, why: cause ?? (error as Error).name };
  }
}

/** Sends every delivery until accepted; resolves with what was acknowledged where. */
export async function sendStream(
  deliveries: readonly GeneratedDelivery[],
  options: SendOptions,
): Promise<SendReport> {
  const report: SendReport = { acks: [], refused: new Map(), requests: 0, lastAcceptedAt: 0 };
  const deadlineMs = options.deliveryDeadlineMs ?? 180_000;
  let turn = 0;
  const sendOne = async (delivery: GeneratedDelivery): Promise<void> => {
    const giveUpAt = Date.now() + deadlineMs;
    for (let tries = 0; ; tries++) {
      const targets = options.targets();
      // Round robin, so a duplicate goes to another replica than its first copy.
      const target = targets[turn++ % Math.max(1, targets.length)];
      const result: Answer = target
        ? await postDelivery(delivery, target, options.secret)
        : { ok: false, why: 'no ingest running' };
      report.requests += 1;
      if (result.ok) {
        report.acks.push({
          id: delivery.id,
          partition: result.partition,
          offset: result.offset,
          ingest: target!.name,
        });
        report.lastAcceptedAt = Date.now();
        return;
      }
      report.refused.set(result.why, (report.refused.get(result.why) ?? 0) + 1);
      if (Date.now() > giveUpAt) {
        throw new Error(`delivery ${delivery.id} not accepted within ${deadlineMs} ms (last: ${result.why})`);
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** Math.min(tries, 4))));
    }
  };
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / options.burstsPerSecond;
  const started = Date.now();
  for (let i = 0, burst = 0; i < deliveries.length; i += options.burst, burst++) {
    const wait = started + burst * interval - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const delivery of deliveries.slice(i, i + options.burst)) inFlight.push(sendOne(delivery));
  }
  await Promise.all(inFlight);
  return report;
}
