// The Delivery ingest builds for a generated event it received as GitHub would send it
// (a repository hook, the payload's exact bytes): for benchmarks and tests that put a
// generated stream straight on the deliveries topic.
import { buildDelivery, type KeyedDelivery } from '../schemas/delivery.js';
import type { GeneratedDelivery } from './stream.js';

export function receivedDelivery(d: GeneratedDelivery, receivedAt = Date.now()): KeyedDelivery {
  const built = buildDelivery({
    id: d.id,
    event: d.event,
    body: Buffer.from(JSON.stringify(d.payload)),
    payload: d.payload,
    receivedAt,
    source: 'webhook',
    hookId: '1',
    installationTargetType: 'repository',
    installationTargetId: '1',
  });
  if ('error' in built) throw new Error(`generated ${d.event} ${d.id}: ${built.error}`);
  return built;
}
