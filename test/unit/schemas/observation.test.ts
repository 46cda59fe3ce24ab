// The observation a Delivery carries (deliverySchemaV2): built once by buildDelivery,
// read back through the Avro envelope, it is what parsing the body gives, for every
// real payload; older records and payloads that do not reduce carry none.
import { describe, expect, it } from 'vitest';
import { AvroCodec } from '../../../schemas/avro-codec.js';
import { codecs } from '../../../schemas/codecs.js';
import { buildDelivery, type Delivery } from '../../../schemas/delivery.js';
import {
  embeddedObservationOf,
  embedObservation,
  OBSERVATION_VERSION,
  parseDelivery,
} from '../../../schemas/observation.js';
import { BUILTIN_SCHEMAS, StaticSchemaRegistry, SUBJECTS } from '../../../schemas/registry.js';
import { example, examples } from '../../support/webhooks.js';

type Event = 'workflow_run' | 'workflow_job';

/** The envelope of a payload as ingest builds it, through the wire and back. */
function throughTheWire(event: Event, payload: unknown): Delivery {
  const body = Buffer.from(JSON.stringify(payload));
  const built = buildDelivery({
    id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    event,
    body,
    payload: JSON.parse(body.toString('utf8')),
    receivedAt: 1,
    source: 'webhook',
  });
  if ('error' in built) throw new Error(built.error);
  return codecs.delivery.decode(codecs.delivery.encode(built.delivery));
}

/** What the processor made of a delivery before the envelope carried an observation. */
const ofTheBody = (d: Delivery) => parseDelivery(d.event, JSON.parse(d.body.toString('utf8')));

/** The records of the schema registry as it was before deliverySchemaV2 (writer: id 1). */
const v1Codec = new AvroCodec<Omit<Delivery, 'observation'>>(
  new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 8)),
  SUBJECTS.delivery,
);

describe('the observation in the Delivery envelope', () => {
  it.each<Event>(['workflow_run', 'workflow_job'])(
    'equals the parsed body for every real %s example',
    (event) => {
      const payloads = examples(event);
      expect(payloads.length).toBeGreaterThan(0);
      for (const payload of payloads) {
        const delivery = throughTheWire(event, payload);
        expect(delivery.observation?.version).toBe(OBSERVATION_VERSION);
        const fromBody = ofTheBody(delivery);
        if (!fromBody.ok) throw new Error(fromBody.reason);
        expect(embeddedObservationOf(delivery.event, delivery.observation)).toStrictEqual(
          fromBody.observation,
        );
      }
    },
  );

  it('is written under the new schema id, and a V1 record still reads, with none', () => {
    const delivery = throughTheWire('workflow_job', example('workflow_job', 'queued'));
    expect(codecs.delivery.encode(delivery).readUInt32BE(1)).toBe(13);
    const { observation: _, ...v1 } = delivery;
    const v1Bytes = v1Codec.encode(v1);
    expect(v1Bytes.readUInt32BE(1)).toBe(1);
    const read = codecs.delivery.decode(v1Bytes);
    expect(read).toEqual({ ...v1, observation: null });
    expect(embeddedObservationOf(read.event, read.observation)).toBeNull();
  });

  it('carries the job name since schema id 13; one written under id 9 (no name) is read from its body', () => {
    const delivery = throughTheWire('workflow_job', example('workflow_job', 'completed'));
    const name = (example('workflow_job', 'completed').workflow_job as { name: string }).name;
    expect(name).not.toBe('');
    expect(embeddedObservationOf(delivery.event, delivery.observation)).toMatchObject({ name });
    // What an ingest of observation version 1 wrote (schema id 9: no name in it).
    const v2Codec = new AvroCodec<Delivery>(
      new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 12)),
      SUBJECTS.delivery,
    );
    const old = v2Codec.encode({ ...delivery, observation: { ...delivery.observation!, version: 1 } });
    expect(old.readUInt32BE(1)).toBe(9);
    const read = codecs.delivery.decode(old);
    expect(embeddedObservationOf(read.event, read.observation)).toBeNull();
    expect(ofTheBody(read)).toMatchObject({ ok: true, observation: { name } });
  });

  it('is not used when another parser version made it, nor for another event', () => {
    const delivery = throughTheWire('workflow_run', example('workflow_run', 'completed'));
    const embedded = delivery.observation!;
    expect(embeddedObservationOf('workflow_run', embedded)).not.toBeNull();
    expect(
      embeddedObservationOf('workflow_run', { ...embedded, version: OBSERVATION_VERSION - 1 }),
    ).toBeNull();
    expect(
      embeddedObservationOf('workflow_run', { ...embedded, version: OBSERVATION_VERSION + 1 }),
    ).toBeNull();
    expect(embeddedObservationOf('workflow_job', embedded)).toBeNull();
  });

  it('changes what it makes of the real examples only with OBSERVATION_VERSION', async () => {
    // A change to parseDelivery that moves any of these must bump OBSERVATION_VERSION (and
    // write the new file with `npx vitest run -u`): otherwise a processor of the new parser
    // would trust what the old one embedded. It sees only these payloads: a guard, not a proof.
    const observations = (['workflow_run', 'workflow_job'] as const).flatMap((event) =>
      examples(event).map((payload) => parseDelivery(event, payload)),
    );
    await expect(`${JSON.stringify(observations, null, 2)}\n`).toMatchFileSnapshot(
      `__snapshots__/observations-v${OBSERVATION_VERSION}.json`,
    );
  });

  it('is null when the payload does not reduce to an observation', () => {
    const bad = example('workflow_run', 'completed');
    (bad.workflow_run as Record<string, unknown>).status = 'exploded';
    const delivery = throughTheWire('workflow_run', bad);
    expect(delivery.observation).toBeNull();
    expect(ofTheBody(delivery)).toMatchObject({ ok: false, reason: expect.stringContaining('exploded') });

    const noRepository = example('workflow_job', 'queued');
    delete noRepository.repository;
    expect(throughTheWire('workflow_job', noRepository).observation).toBeNull();
  });

  it('is null when Avro could not carry it exactly; the body then says it', () => {
    const surrogate = example('workflow_job', 'in_progress');
    (surrogate.workflow_job as Record<string, unknown>).workflow_name = 'build \ud800';
    expect(embedObservation('workflow_job', surrogate)).toBeNull();
    expect(parseDelivery('workflow_job', surrogate).ok).toBe(true);
    const huge = example('workflow_run', 'requested');
    (huge.workflow_run as Record<string, unknown>).run_attempt = 2 ** 40;
    expect(embedObservation('workflow_run', huge)).toBeNull();
    // Nor can the state keep such an attempt: the delivery is invalid, never a poison record.
    expect(parseDelivery('workflow_run', huge)).toEqual({
      ok: false,
      reason: `workflow_run.run_attempt ${2 ** 40} is out of range`,
    });
    const hugeJob = example('workflow_job', 'queued');
    (hugeJob.workflow_job as Record<string, unknown>).run_attempt = 2 ** 31;
    expect(parseDelivery('workflow_job', hugeJob)).toEqual({
      ok: false,
      reason: `workflow_job.run_attempt ${2 ** 31} is out of range`,
    });
    (hugeJob.workflow_job as Record<string, unknown>).run_attempt = 2 ** 31 - 1;
    expect(parseDelivery('workflow_job', hugeJob).ok).toBe(true);
    // A well-formed pair (an emoji) travels.
    const emoji = example('workflow_job', 'in_progress');
    (emoji.workflow_job as Record<string, unknown>).workflow_name = 'build \u{1f680}';
    expect(throughTheWire('workflow_job', emoji).observation?.job?.workflow).toBe('build \u{1f680}');
  });
});
