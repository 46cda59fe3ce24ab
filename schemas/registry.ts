// The built-in schema registry: a static table of every schema version ever written.
// Ids are never reused; a new version of a subject appends a row and becomes the
// writer, while records framed with older ids stay readable through Avro resolution.

import type { RegisteredSchema, SchemaRegistry } from './avro-codec.js';
import { deliverySchemaV1, deliverySchemaV2, deliverySchemaV3 } from './delivery.js';
import {
  admissionSchemaV1,
  aggregateSchemaV1,
  aggregateSchemaV2,
  dedupeMarkerSchemaV1,
  jobStateSchemaV1,
  jobStateSchemaV2,
  jobStateSchemaV3,
  rerunSchemaV1,
  runStateSchemaV1,
  runStateSchemaV2,
  runStateSchemaV3,
} from './state.js';

export const SUBJECTS = {
  delivery: 'dev.runstream.Delivery',
  runState: 'dev.runstream.RunState',
  jobState: 'dev.runstream.JobState',
  aggregate: 'dev.runstream.Aggregate',
  dedupeMarker: 'dev.runstream.DedupeMarker',
  admission: 'dev.runstream.Admission',
  rerun: 'dev.runstream.Rerun',
} as const;

export const BUILTIN_SCHEMAS: readonly RegisteredSchema[] = [
  { id: 1, subject: SUBJECTS.delivery, schema: deliverySchemaV1 },
  { id: 2, subject: SUBJECTS.runState, schema: runStateSchemaV1 },
  { id: 3, subject: SUBJECTS.jobState, schema: jobStateSchemaV1 },
  { id: 4, subject: SUBJECTS.aggregate, schema: aggregateSchemaV1 },
  { id: 5, subject: SUBJECTS.dedupeMarker, schema: dedupeMarkerSchemaV1 },
  { id: 6, subject: SUBJECTS.aggregate, schema: aggregateSchemaV2 },
  { id: 7, subject: SUBJECTS.runState, schema: runStateSchemaV2 },
  { id: 8, subject: SUBJECTS.jobState, schema: jobStateSchemaV2 },
  { id: 9, subject: SUBJECTS.delivery, schema: deliverySchemaV2 },
  { id: 10, subject: SUBJECTS.runState, schema: runStateSchemaV3 },
  { id: 11, subject: SUBJECTS.jobState, schema: jobStateSchemaV3 },
  { id: 12, subject: SUBJECTS.admission, schema: admissionSchemaV1 },
  { id: 13, subject: SUBJECTS.delivery, schema: deliverySchemaV3 },
  { id: 14, subject: SUBJECTS.rerun, schema: rerunSchemaV1 },
];

export class StaticSchemaRegistry implements SchemaRegistry {
  private readonly byId = new Map<number, RegisteredSchema>();
  private readonly latest = new Map<string, RegisteredSchema>();

  constructor(schemas: readonly RegisteredSchema[] = BUILTIN_SCHEMAS) {
    for (const entry of schemas) {
      if (this.byId.has(entry.id)) throw new Error(`schema id ${entry.id} registered twice`);
      this.byId.set(entry.id, entry);
      const current = this.latest.get(entry.subject);
      if (!current || current.id < entry.id) this.latest.set(entry.subject, entry);
    }
  }

  writerId(subject: string): number {
    const entry = this.latest.get(subject);
    if (!entry) throw new Error(`no schema registered for subject ${subject}`);
    return entry.id;
  }

  schemaById(id: number): RegisteredSchema | undefined {
    return this.byId.get(id);
  }

  readerSchema(subject: string): object {
    const entry = this.latest.get(subject);
    if (!entry) throw new Error(`no schema registered for subject ${subject}`);
    return entry.schema;
  }
}
