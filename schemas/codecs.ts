// The codec of every record runstream writes (avro-codec.ts), over the built-in registry.
import { AvroCodec } from './avro-codec.js';
import type { Delivery } from './delivery.js';
import type { JobState, RerunState, RunState } from './model.js';
import { StaticSchemaRegistry, SUBJECTS } from './registry.js';
import type { Admission, AggregateRecord, DedupeMarker } from './state.js';

const registry = new StaticSchemaRegistry();

const delivery = new AvroCodec<Delivery>(registry, SUBJECTS.delivery);

export const codecs = {
  delivery,
  /** A Delivery but its body, which is skipped: enough when its observation can be used. */
  deliveryHead: delivery.without('body'),
  runState: new AvroCodec<RunState>(registry, SUBJECTS.runState),
  jobState: new AvroCodec<JobState>(registry, SUBJECTS.jobState),
  aggregate: new AvroCodec<AggregateRecord>(registry, SUBJECTS.aggregate),
  dedupeMarker: new AvroCodec<DedupeMarker>(registry, SUBJECTS.dedupeMarker),
  admission: new AvroCodec<Admission>(registry, SUBJECTS.admission),
  rerun: new AvroCodec<RerunState>(registry, SUBJECTS.rerun),
};
