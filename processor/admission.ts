// Admission of label sets under the partition's caps (the why is in core/caps.ts): the
// decisions read and written through one transaction's StateReader, so they commit with
// the states and aggregates they decide.
import { type AdmissionKind, admissionCountKey, admissionKey } from '../schemas/changelog.js';
import { METRIC_FAMILIES } from '../schemas/metrics.js';
import type { JobState, Labels, RunState } from '../schemas/model.js';
import { decideAdmission, jobCappedValues, labelSetKey, runCappedValues, withOverflow } from './core/caps.js';
import { flakyCappedValues } from './core/reruns.js';
import type { AggregateDelta, JobObservation, Observation } from './core/types.js';
import type { StateReader } from './state-reader.js';

/** Whether a label set overflows the cap; admits it (staging its records) when there is room. */
async function overflows(reader: StateReader, kind: AdmissionKind, labelSet: string): Promise<boolean> {
  const { pending } = reader;
  const key = admissionKey(kind, labelSet);
  const admitted = (await reader.admission(key)) !== undefined;
  const count = admitted ? 0 : ((await reader.admission(admissionCountKey(kind))) ?? 0);
  const decision = decideAdmission(admitted, count, pending.catalogue.maxLabelSets[kind]);
  if (decision === 'admit') {
    pending.admissions.set(key, count + 1);
    pending.admissions.set(admissionCountKey(kind), count + 1);
  }
  return decision === 'overflow';
}

const cappedValues = (kind: 'run' | 'job', entity: RunState | JobState | Observation): Labels =>
  kind === 'run' ? runCappedValues(entity as RunState) : jobCappedValues(entity as JobState);

/** The admission keys an observation will read: prefetched with the states of a chunk. */
export function admissionKeysOf(observation: Observation, reader: StateReader): string[] {
  const { kind } = observation;
  const labelSet = labelSetKey(kind, cappedValues(kind, observation), reader.pending.catalogue);
  return [admissionKey(kind, labelSet), admissionCountKey(kind)];
}

/**
 * The entity's next state with its label set decided: the previous decision when the
 * label set is unchanged, else decided now (a new entity, or a value that filled in).
 */
export async function decideState<S extends RunState | JobState>(
  reader: StateReader,
  kind: 'run' | 'job',
  previous: S | undefined,
  next: S,
): Promise<S> {
  const { catalogue } = reader.pending;
  const labelSet = labelSetKey(kind, cappedValues(kind, next), catalogue);
  if (previous && labelSetKey(kind, cappedValues(kind, previous), catalogue) === labelSet) return next;
  const overflow = await overflows(reader, kind, labelSet);
  return overflow === (next.overflow ?? false) ? next : { ...next, overflow };
}

const QUEUE_DURATION = METRIC_FAMILIES.queueDuration.name;

/**
 * A transition's deltas with their label sets decided, and whether the observation went
 * to `(other)` anywhere. The queue duration reads the merged state
 * (core/state-machine.ts), so it takes the state's decision; the others read the event,
 * which takes the state's decision when its label set is the state's (always, from
 * GitHub), else its own (the same answer any later decision of that set gives).
 */
export async function decideDeltas(
  reader: StateReader,
  state: RunState | JobState,
  observation: Observation,
  deltas: readonly AggregateDelta[],
): Promise<{ deltas: AggregateDelta[]; overflow: boolean }> {
  const stateOverflow = state.overflow ?? false;
  if (deltas.length === 0) return { deltas: [], overflow: stateOverflow };
  const { kind } = observation;
  const { catalogue } = reader.pending;
  const labelSet = labelSetKey(kind, cappedValues(kind, observation), catalogue);
  const sameSet = labelSet === labelSetKey(kind, cappedValues(kind, state), catalogue);
  const eventOverflow = sameSet ? stateOverflow : await overflows(reader, kind, labelSet);
  let overflow = stateOverflow;
  const decided = deltas.map((delta) => {
    const over = delta.name === QUEUE_DURATION ? stateOverflow : eventOverflow;
    overflow ||= over;
    return over ? { ...delta, labels: withOverflow(kind, delta.labels, true) } : delta;
  });
  return { deltas: decided, overflow };
}

/**
 * A flaky-jobs delta with its label set (repository, workflow, job name) decided under the
 * flaky cap: admitted once for good, or `(other)` once the cap is full (core/caps.ts). It
 * is decided only when a job is first counted, so the admitted sets are the first `cap`
 * distinct ones counted in partition order.
 */
export async function decideFlakyDelta(
  reader: StateReader,
  observation: JobObservation,
  delta: AggregateDelta,
): Promise<{ delta: AggregateDelta; overflow: boolean }> {
  const labelSet = labelSetKey('flaky', flakyCappedValues(observation), reader.pending.catalogue);
  const overflow = await overflows(reader, 'flaky', labelSet);
  return {
    delta: overflow ? { ...delta, labels: withOverflow('flaky', delta.labels, true) } : delta,
    overflow,
  };
}

/** Whether one of an observation's label values is served truncated. */
export function hasTruncatedValue(observation: Observation, reader: StateReader): boolean {
  const { catalogue } = reader.pending;
  const values: Labels = {
    ...cappedValues(observation.kind, observation),
    ...(observation.kind === 'run' ? { event: observation.event } : {}),
  };
  return Object.entries(values).some(([label, value]) => catalogue.isTruncated(label, value));
}
