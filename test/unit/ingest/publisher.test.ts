// The publisher's queue against a producer whose acks the test hands out: what times
// out while queued is never sent, and a full queue refuses at once. (The real broker
// path, including an outage, is in test/integration/ingest.test.ts.)
import type { Kafka, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DeliveryPublisher, PublishQueueFullError, PublishTimeoutError } from '../../../ingest/publisher.js';
import type { Delivery } from '../../../schemas/index.js';
import { testLogger } from '../../support/kafka.js';

function delivery(id: string, bodyBytes = 100): { key: string; delivery: Delivery } {
  return {
    key: '1',
    delivery: {
      id,
      event: 'workflow_job',
      action: 'queued',
      hookId: null,
      installationTargetType: null,
      installationTargetId: null,
      receivedAt: 0,
      source: 'webhook',
      runId: 1,
      body: Buffer.alloc(bodyBytes, 0x20),
    },
  };
}

/** A producer whose sends stay unacknowledged until the test acks them. */
function stalledKafka() {
  const sends: Array<{ ids: string[]; ack: () => void }> = [];
  const producer = {
    on: () => undefined,
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: (record: ProducerRecord) =>
      new Promise<void>((resolve) => {
        sends.push({ ids: record.messages.map((m) => String(m.headers?.['delivery-id'])), ack: resolve });
      }),
  };
  // Only producer() is used by the publisher.
  const kafka = { producer: () => producer } as unknown as Kafka;
  return { kafka, sends };
}

describe('DeliveryPublisher', () => {
  it('withdraws a delivery that timed out while queued, so it is never sent', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger, sendTimeoutMs: 100 });
    const inFlight = publisher.publish([delivery('in-flight')]);
    await new Promise((r) => setTimeout(r, 10));
    const queued = publisher.publish([delivery('queued')]);
    await expect(inFlight).rejects.toBeInstanceOf(PublishTimeoutError);
    await expect(queued).rejects.toBeInstanceOf(PublishTimeoutError);

    sends[0]!.ack(); // the cluster answers late; the queue moves on
    const later = publisher.publish([delivery('later')]);
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await later;
    expect(sends.map((s) => s.ids)).toEqual([['in-flight'], ['later']]);
  });

  it('coalesces what queued behind a send into the next send', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const first = publisher.publish([delivery('a')]);
    await new Promise((r) => setTimeout(r, 10));
    const rest = [publisher.publish([delivery('b')]), publisher.publish([delivery('c')])];
    sends[0]!.ack();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await Promise.all(rest);
    expect(sends.map((s) => s.ids)).toEqual([['a'], ['b', 'c']]);
  });

  it('refuses at once when the queue is full, and accepts again once it drains', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({
      kafka,
      topic: 't',
      logger: testLogger,
      maxQueuedBytes: 5000,
    });
    const inFlight = publisher.publish([delivery('in-flight', 3000)]);
    await new Promise((r) => setTimeout(r, 10));
    const queued = publisher.publish([delivery('queued', 3000)]);
    const started = Date.now();
    await expect(publisher.publish([delivery('refused', 3000)])).rejects.toBeInstanceOf(
      PublishQueueFullError,
    );
    expect(Date.now() - started).toBeLessThan(50);

    sends[0]!.ack();
    await inFlight;
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await queued;
    const accepted = publisher.publish([delivery('accepted', 3000)]);
    await new Promise((r) => setTimeout(r, 10));
    sends[2]!.ack();
    await accepted;
    expect(sends.map((s) => s.ids)).toEqual([['in-flight'], ['queued'], ['accepted']]);
  });
});
