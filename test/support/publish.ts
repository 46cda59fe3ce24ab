// Puts generated deliveries on the deliveries topic the way ingest does (same
// envelope, same key, same producer), and waits for a consumer group to finish them.
import type { GeneratedDelivery } from '../../demo/stream.js';
import { DeliveryPublisher } from '../../ingest/publisher.js';
import type { KafkaPort } from '../../platform/kafka-port.js';
import { buildDelivery, type KeyedDelivery } from '../../schemas/delivery.js';
import { testLogger } from './kafka.js';

export function toDelivery(d: GeneratedDelivery, receivedAt = Date.now()): KeyedDelivery {
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

/**
 * When GitHub would have delivered a generated event: a second after the latest time
 * its payload names (read from the payload's text).
 */
export function deliveredAt(d: GeneratedDelivery): number {
  const entity = (d.payload.workflow_job ?? d.payload.workflow_run) as Record<string, unknown>;
  const times = ['created_at', 'started_at', 'completed_at', 'run_started_at', 'updated_at']
    .map((f) => entity[f])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => Date.parse(v));
  return Math.max(...times) + 1000;
}

/**
 * Publishes generated deliveries as received now, or (receivedAt: deliveredAt) as
 * received when GitHub would have sent them, as a replay of an archive keeps them.
 */
export async function publishDeliveries(
  kafka: KafkaPort,
  topic: string,
  deliveries: readonly GeneratedDelivery[],
  chunk = 200,
  receivedAt: (d: GeneratedDelivery) => number = () => Date.now(),
): Promise<void> {
  const publisher = new DeliveryPublisher({ kafka, topic, logger: testLogger, sendTimeoutMs: 30_000 });
  try {
    for (let i = 0; i < deliveries.length; i += chunk) {
      await publisher.publish(deliveries.slice(i, i + chunk).map((d) => toDelivery(d, receivedAt(d))));
    }
  } finally {
    await publisher.close();
  }
}

/** Resolves when the group's committed offsets reach the end of every partition. */
export async function waitForGroup(
  kafka: KafkaPort,
  groupId: string,
  topic: string,
  timeoutMs = 90_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    let behind = '';
    while (Date.now() < deadline) {
      const [ends, committed] = await Promise.all([
        admin.partitionOffsets(topic),
        admin.committedOffsets(groupId, topic),
      ]);
      const at = new Map(committed.map((p) => [p.partition, p.offset]));
      const lagging = ends.filter((e) => e.high > e.low && (at.get(e.partition) ?? -1n) < e.high);
      if (lagging.length === 0) return;
      behind = lagging.map((e) => `${e.partition}: ${at.get(e.partition) ?? 'none'}/${e.high}`).join(', ');
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`group ${groupId} did not finish ${topic} within ${timeoutMs} ms (${behind})`);
  } finally {
    await admin.disconnect();
  }
}
