import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroCodec, DecodeError } from '../../../schemas/avro-codec.js';
import { codecs } from '../../../schemas/codecs.js';
import { type Delivery, deliverySchemaV2, deliverySchemaV3 } from '../../../schemas/delivery.js';
import type { JobState } from '../../../schemas/model.js';
import { BUILTIN_SCHEMAS, StaticSchemaRegistry, SUBJECTS } from '../../../schemas/registry.js';
import { jobState, runState } from '../../support/entities.js';

const delivery: Delivery = {
  id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  event: 'workflow_job',
  action: 'queued',
  hookId: '123',
  installationTargetType: 'repository',
  installationTargetId: '42',
  receivedAt: 1_700_000_000_123,
  source: 'webhook',
  runId: 30433642,
  body: Buffer.from('{"action":"queued"}\n\u00e9', 'utf8'),
  observation: null,
};

// An additive change: a new field with a default, registered under a new id.
const deliverySchemaNext = {
  ...deliverySchemaV2,
  fields: [...deliverySchemaV2.fields, { name: 'userAgent', type: ['null', 'string'], default: null }],
};

describe('Avro codec with Confluent framing', () => {
  it('round-trips a delivery with the body byte-identical', () => {
    const bytes = codecs.delivery.encode(delivery);
    expect(bytes.readUInt8(0)).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(13);
    const back = codecs.delivery.decode(bytes);
    expect(back).toEqual(delivery);
    expect(Buffer.compare(back.body, delivery.body)).toBe(0);
  });

  it('reads records written with the old schema after an additive change', () => {
    const oldBytes = codecs.delivery.encode(delivery);
    const evolved = new StaticSchemaRegistry([
      ...BUILTIN_SCHEMAS,
      { id: 100, subject: SUBJECTS.delivery, schema: deliverySchemaNext },
    ]);
    const next = new AvroCodec<Delivery & { userAgent: string | null }>(evolved, SUBJECTS.delivery);
    const read = next.decode(oldBytes);
    expect(read).toEqual({ ...delivery, userAgent: null });
    const nextBytes = next.encode({ ...delivery, userAgent: 'GitHub-Hookshot/abc' });
    expect(nextBytes.readUInt32BE(1)).toBe(100);
    expect(next.decode(nextBytes).userAgent).toBe('GitHub-Hookshot/abc');
  });

  it('reads a job written before branchKind was kept as branchKind empty', () => {
    // The registry as it was: the first job schema is the latest one.
    const before = new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 6));
    const v1Bytes = new AvroCodec<JobState>(before, SUBJECTS.jobState).encode(jobState());
    expect(codecs.jobState.decode(v1Bytes)).toEqual({ ...jobState(), branchKind: '', overflow: false });
    const now = codecs.jobState.encode(jobState({ branchKind: 'default' }));
    expect(now.readUInt32BE(1)).toBe(11);
    expect(codecs.jobState.decode(now).branchKind).toBe('default');
  });

  it('reads a run and a job written before the caps as not overflowed, and keeps the flag', () => {
    const before = new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 9));
    const v2Bytes = new AvroCodec<JobState>(before, SUBJECTS.jobState).encode(jobState({ overflow: true }));
    expect(v2Bytes.readUInt32BE(1)).toBe(8);
    expect(codecs.jobState.decode(v2Bytes).overflow).toBe(false);
    expect(codecs.jobState.decode(codecs.jobState.encode(jobState({ overflow: true }))).overflow).toBe(true);
    const run = codecs.runState.encode(runState({ overflow: true }));
    expect(run.readUInt32BE(1)).toBe(10);
    expect(codecs.runState.decode(run).overflow).toBe(true);
  });

  it('reads a delivery without its body, from the latest schema and from V1', () => {
    const { body: _, ...head } = delivery;
    expect(codecs.deliveryHead.decode(codecs.delivery.encode(delivery))).toEqual(head);
    const before = new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 8));
    const { observation: __, ...v1 } = delivery;
    const v1Bytes = new AvroCodec<typeof v1>(before, SUBJECTS.delivery).encode(v1);
    expect(v1Bytes.readUInt32BE(1)).toBe(1);
    expect(codecs.deliveryHead.decode(v1Bytes)).toEqual(head);
    const bytes = codecs.delivery.encode(delivery);
    expect(() => codecs.deliveryHead.decode(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });

  it('rejects a truncated record with a clear error', () => {
    const bytes = codecs.delivery.encode(delivery);
    expect(() => codecs.delivery.decode(bytes.subarray(0, bytes.length - 3))).toThrow(DecodeError);
    expect(() => codecs.delivery.decode(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });

  it('rejects unknown framing and schema ids of another subject', () => {
    expect(() => codecs.delivery.decode(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow(/magic byte/);
    expect(() => codecs.delivery.decode(Buffer.from([0, 0, 0, 0, 99, 2]))).toThrow(/unknown schema id 99/);
    expect(() => codecs.delivery.decode(Buffer.from([0, 0, 0]))).toThrow(/shorter than the header/);
    const marker = codecs.dedupeMarker.encode({ firstSeenAt: 5 });
    expect(() => codecs.delivery.decode(marker)).toThrow(/belongs to dev.runstream.DedupeMarker/);
  });
});

describe('AvroCodec.encode', () => {
  // The oracle: the Confluent frame written by hand around avsc's own toBuffer, with the
  // latest delivery schema (V3, registry id 13).
  const type = avro.Type.forSchema(deliverySchemaV3 as unknown as avro.Schema, { wrapUnions: false });
  const expected = (value: Delivery) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(13, 1);
    return Buffer.concat([header, type.toBuffer(value)]);
  };
  const withBody = (bytes: number, fill: number): Delivery => ({
    ...delivery,
    body: Buffer.alloc(bytes, fill),
  });

  it('writes the same bytes as the schema, small or outgrowing its scratch buffer or its bound', () => {
    for (const value of [
      delivery,
      withBody(8000, 1),
      withBody(200_000, 2),
      withBody(3_000_000, 3),
      delivery,
    ]) {
      const bytes = codecs.delivery.encode(value);
      expect(bytes.equals(expected(value))).toBe(true);
      const back = codecs.delivery.decode(bytes);
      expect(back.body.equals(value.body)).toBe(true);
      expect({ ...back, body: null }).toEqual({ ...value, body: null });
    }
  });

  it('returns records that later encodes do not overwrite', () => {
    const first = codecs.delivery.encode(withBody(9000, 7));
    const copy = Buffer.from(first);
    codecs.delivery.encode(withBody(9000, 8));
    codecs.delivery.encode(withBody(500_000, 9));
    expect(first.equals(copy)).toBe(true);
  });
});
