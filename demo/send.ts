// `runstream demo`: signs a generated stream and POSTs it to an ingest, as GitHub
// would (headers, HMAC over the exact bytes), with bounded concurrency.
import { createHmac } from 'node:crypto';
import { type GeneratedDelivery, generateStream, type StreamOptions } from './stream.js';

export interface DemoOptions extends StreamOptions {
  url: string;
  secret: string;
  concurrency?: number;
}

export interface DemoSummary {
  sent: number;
  unique: number;
  byStatus: Record<string, number>;
  seconds: number;
}

export function signedHeaders(
  delivery: GeneratedDelivery,
  body: Buffer,
  secret: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/runstream-demo',
    'x-github-delivery': delivery.id,
    'x-github-event': delivery.event,
    'x-github-hook-id': '1',
    'x-github-hook-installation-target-type': 'repository',
    'x-github-hook-installation-target-id': '1',
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

export async function sendDemo(options: DemoOptions): Promise<DemoSummary> {
  const stream = generateStream(options);
  const started = performance.now();
  const byStatus: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < stream.length) {
      const delivery = stream[next++]!;
      const body = Buffer.from(JSON.stringify(delivery.payload));
      let status: string;
      try {
        const response = await fetch(options.url, {
          method: 'POST',
          headers: signedHeaders(delivery, body, options.secret),
          body,
        });
        status = String(response.status);
        await response.arrayBuffer();
      } catch (error) {
        status = `error: ${(error as Error).message}`;
      }
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return {
    sent: stream.length,
    unique: new Set(stream.map((d) => d.id)).size,
    byStatus,
    seconds: (performance.now() - started) / 1000,
  };
}
