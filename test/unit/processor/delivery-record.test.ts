// Reading one record of the deliveries topic, purely: its delivery id, receive time and
// observation, from the envelope when the current parser made it, from the body otherwise,
// and a clear reason for a record that cannot be read.
import { describe, expect, it } from 'vitest';
import { decodeRecord, type InputRecord } from '../../../processor/delivery-record.js';
import { AvroCodec, UnknownSchemaError } from '../../../schemas/avro-codec.js';
import { codecs } from '../../../schemas/codecs.js';
import { buildDelivery, type Delivery } from '../../../schemas/delivery.js';
import { BUILTIN_SCHEMAS, StaticSchemaRegistry, SUBJECTS } from '../../../schemas/registry.js';
import { example } from '../../support/webhooks.js';

const ID = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
const RECEIVED_AT = 1_780_000_000_123;

/** The writer of every Delivery before the envelope carried an observation (id 1). */
const v1Codec = new AvroCodec<Omit<Delivery, 'observation'>>(
  new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 8)),
  SUBJECTS.delivery,
);

function delivery(event: 'workflow_job' | 'workflow_run', action: string): Delivery {
  const payload = example(event, action);
  const built = buildDelivery({
    id: ID,
    event,
    body: Buffer.from(JSON.stringify(payload)),
    payload,
    receivedAt: RECEIVED_AT,
    source: 'webhook',
  });
  if ('error' in built) throw new Error(built.error);
  return built.delivery;
}

const record = (value: Buffer | null): InputRecord => ({ offset: '0', value });

describe('decodeRecord', () => {
  it('reads the observation the envelope carries, the same as the body parsed on its own', () => {
    for (const [event, action] of [
      ['workflow_job', 'queued'],
      ['workflow_job', 'completed'],
      ['workflow_run', 'completed'],
    ] as const) {
      const d = delivery(event, action);
      expect(d.observation).not.toBeNull();
      const { observation: _, ...v1 } = d;
      const embedded = decodeRecord(record(codecs.delivery.encode(d)));
      const fromBody = decodeRecord(record(v1Codec.encode(v1)));
      expect(embedded).toMatchObject({ ok: true, deliveryId: ID, receivedAt: RECEIVED_AT });
      expect(embedded.ok && embedded.parsed.ok).toBe(true);
      expect(fromBody).toEqual(embedded);
    }
  });

  it('keeps an upper-case id under its lower-case spelling', () => {
    const d = delivery('workflow_job', 'queued');
    const decoded = decodeRecord(record(codecs.delivery.encode({ ...d, id: ID.toUpperCase() })));
    expect(decoded).toMatchObject({ ok: true, deliveryId: ID });
  });

  it('reads a body that is not JSON as a delivery that does not parse, its id kept for dedupe', () => {
    const d = { ...delivery('workflow_job', 'queued'), observation: null, body: Buffer.from('{"cut":') };
    const decoded = decodeRecord(record(codecs.delivery.encode(d)));
    expect(decoded).toMatchObject({ ok: true, deliveryId: ID, parsed: { ok: false } });
    expect(decoded.ok && !decoded.parsed.ok && decoded.parsed.reason).toMatch(/^body is not JSON: /);
  });

  it('calls a record without a value, one that does not decode, or an id that is not a GUID invalid', () => {
    expect(decodeRecord(record(null))).toEqual({
      ok: false,
      deliveryId: null,
      reason: 'record has no value',
    });
    expect(decodeRecord(record(Buffer.from([0, 0, 0, 0, 1, 2])))).toMatchObject({
      ok: false,
      deliveryId: null,
      reason: expect.stringMatching(/^cannot decode dev\.runstream\.Delivery: /),
    });
    const forged = { ...delivery('workflow_run', 'completed'), id: 'retired:run:1:1' };
    expect(decodeRecord(record(codecs.delivery.encode(forged)))).toMatchObject({
      ok: false,
      deliveryId: null,
      reason: expect.stringContaining('"retired:run:1:1" is not a GUID'),
    });
  });

  it("throws on a newer writer's record instead of calling it invalid", () => {
    const newer = codecs.delivery.encode(delivery('workflow_job', 'queued'));
    newer.writeUInt32BE(0x7fff_ffff, 1);
    expect(() => decodeRecord(record(newer))).toThrow(UnknownSchemaError);
  });
});
