// The processor reads a delivery's observation from its envelope when the current
// parser made it, and parses the body otherwise (V1 records, other parser versions,
// payloads that did not reduce): either way every record gets the same result and the
// transaction the same changes, byte for byte, filters and all.
import { describe, expect, it } from 'vitest';
import { generateStream } from '../../../demo/stream.js';
import { applyChunk } from '../../../processor/apply-chunk.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import type { InputRecord } from '../../../processor/delivery-record.js';
import { PendingChanges } from '../../../processor/pending-changes.js';
import { RocksStore } from '../../../processor/store.js';
import { AvroCodec } from '../../../schemas/avro-codec.js';
import { codecs } from '../../../schemas/codecs.js';
import type { Delivery } from '../../../schemas/delivery.js';
import { MetricCatalogue } from '../../../schemas/metrics.js';
import { OBSERVATION_VERSION } from '../../../schemas/observation.js';
import { BUILTIN_SCHEMAS, StaticSchemaRegistry, SUBJECTS } from '../../../schemas/registry.js';
import { toDelivery } from '../../support/publish.js';
import { useTempDir } from '../../support/temp-dir.js';

const PARTITION = 2;
const NOW = 1_800_000_000_000;

/** The writer of every Delivery before the envelope carried an observation (id 1). */
const v1Codec = new AvroCodec<Omit<Delivery, 'observation'>>(
  new StaticSchemaRegistry(BUILTIN_SCHEMAS.filter((s) => s.id <= 8)),
  SUBJECTS.delivery,
);

const stream = generateStream({
  seed: 23,
  runs: 15,
  duplicateRate: 0.2,
  disorderRate: 0.5,
  startMs: NOW - 3 * 3_600_000,
});
const EXPLODED = '00000000-0000-4000-8000-0000000e4b0d';

/**
 * The stream as built today, plus a delivery whose payload does not reduce and one whose
 * id is not a GUID (as an older ingest or another producer may have written).
 */
function deliveries(): Delivery[] {
  const built = stream.map((d) => toDelivery(d, NOW).delivery);
  const bad = structuredClone(stream.find((d) => d.event === 'workflow_job')!);
  (bad.payload.workflow_job as Record<string, unknown>).status = 'exploded';
  built.splice(7, 0, toDelivery({ ...bad, id: EXPLODED }, NOW).delivery);
  built.splice(12, 0, { ...toDelivery(stream[3]!, NOW).delivery, id: 'retired:run:1:1' });
  return built;
}

const asRecords = (values: Buffer[]): InputRecord[] =>
  values.map((value, i) => ({ offset: String(i), value }));

function withoutObservation(delivery: Delivery): Omit<Delivery, 'observation'> {
  const { observation: _, ...rest } = delivery;
  return rest;
}

describe('the embedded observation in the processor', () => {
  const dir = useTempDir('runstream-embedded-');

  /** One chunk into a fresh store: each record's result, the invalid ones, and the transaction. */
  async function apply(name: string, records: InputRecord[], catalogue: MetricCatalogue) {
    const store = await RocksStore.open(dir(name));
    try {
      const pending = new PendingChanges(catalogue);
      const results = await applyChunk(store, PARTITION, pending, records, NOW, DEFAULT_LIFECYCLE_LIMITS);
      return { results, invalid: pending.invalid, records: pending.records(PARTITION) };
    } finally {
      await store.close();
    }
  }

  it('gives the same results and changes from the envelope as from the bodies of V1 records', async () => {
    const all = deliveries();
    expect(all.filter((d) => d.observation !== null).length).toBe(all.length - 1);
    expect(all[12]!.observation).not.toBeNull();
    const catalogue = new MetricCatalogue({ branchKind: true, repositories: { exclude: ['octo-org/*'] } });
    const fromEnvelope = await apply('v2', asRecords(all.map((d) => codecs.delivery.encode(d))), catalogue);
    const fromBody = await apply(
      'v1',
      asRecords(all.map((d) => v1Codec.encode(withoutObservation(d)))),
      catalogue,
    );
    expect(fromEnvelope.results).toEqual(fromBody.results);
    expect(new Set(fromBody.results)).toEqual(
      new Set(['applied', 'duplicate', 'stale', 'invalid', 'ignored']),
    );
    expect(fromBody.invalid).toEqual([
      { offset: '7', deliveryId: EXPLODED, reason: expect.stringContaining('exploded') },
      { offset: '12', deliveryId: null, reason: expect.stringContaining('"retired:run:1:1" is not a GUID') },
    ]);
    expect(fromEnvelope.invalid).toEqual(fromBody.invalid);
    expect(fromEnvelope.records).toEqual(fromBody.records);
  });

  it('parses the body when another parser version made the observation, and uses it otherwise', async () => {
    const run = stream.find((d) => d.event === 'workflow_run')!;
    const delivery = toDelivery(run, NOW).delivery;
    const made = delivery.observation!;
    // An observation that disagrees with its body shows which one the processor read.
    const doctored = (version: number): Buffer =>
      codecs.delivery.encode({
        ...delivery,
        observation: { ...made, version, run: { ...made.run!, repository: 'elsewhere/else' } },
      });
    const repositoryOf = async (name: string, value: Buffer) => {
      const { records } = await apply(name, asRecords([value]), new MetricCatalogue());
      const state = records.find((r) => r.kind === 'runs')!.value!;
      return codecs.runState.decode(state).repository;
    };
    const body = (run.payload.repository as { full_name: string }).full_name;
    expect(await repositoryOf('older', doctored(OBSERVATION_VERSION - 1))).toBe(body);
    expect(await repositoryOf('newer', doctored(OBSERVATION_VERSION + 1))).toBe(body);
    expect(await repositoryOf('current', doctored(OBSERVATION_VERSION))).toBe('elsewhere/else');
  });
});
