// Applies a chunk of deliveries to one partition's state: dedupe, parse, state
// machine, aggregates (counters, histograms and gauges). Reads go through the pending
// changes first, then the store (state-reader.ts); nothing is written here. The caller
// commits the changes to Kafka, then to RocksDB.

import type { MetricCatalogue } from '../schemas/metrics.js';
import type { JobState, Labels, RunState } from '../schemas/model.js';
import { admissionKeysOf, decideDeltas, decideState, hasTruncatedValue } from './admission.js';
import { applyDelta } from './core/aggregates.js';
import { isBeyondDedupeWindow } from './core/freshness.js';
import { applyReceived, LAST_RECEIVED, receivedLabels } from './core/received.js';
import { applyJob, applyRun, jobKey, runKey } from './core/state-machine.js';
import type { AggregateDelta, LifecycleLimits, Observation } from './core/types.js';
import { type DecodedRecord, decodeRecord, type InputRecord } from './delivery-record.js';
import { foldGauges } from './gauges.js';
import { deliveryMarkerKey, retiredMarkerKey } from './markers.js';
import type { DeliveryResult, PendingChanges } from './pending-changes.js';
import { rerunDeltas, rerunKeyOf } from './reruns.js';
import { StateReader } from './state-reader.js';
import type { KeyValueStore } from './store.js';
import { storeKey } from './store-layout.js';

/** A delivery of a repository the catalogue does not admit. */
const isIgnored = (d: DecodedRecord & { ok: true }, catalogue: MetricCatalogue): boolean =>
  d.parsed.ok && !catalogue.admits(d.parsed.observation.repository);

/**
 * Applies a chunk of input records, in offset order, to the pending changes: dedupe,
 * state machine, then the aggregate deltas of every transition (aggregates never feed
 * back into state, so they can be read and folded after the states). Returns what
 * became of each record, in order.
 */
export async function applyChunk(
  store: KeyValueStore,
  partition: number,
  pending: PendingChanges,
  records: readonly InputRecord[],
  now: number,
  limits: Pick<LifecycleLimits, 'dedupeWindowMs'>,
): Promise<DeliveryResult[]> {
  const reader = new StateReader(store, partition, pending);
  const decoded = records.map(decodeRecord);
  const stateKeys: string[] = [];
  for (const d of decoded) {
    if (!d.ok || isIgnored(d, pending.catalogue)) continue;
    stateKeys.push(storeKey('dedupe', deliveryMarkerKey(d.deliveryId)));
    if (d.parsed.ok) {
      const o = d.parsed.observation;
      const key = o.kind === 'run' ? runKey(o.runId, o.runAttempt) : jobKey(o.jobId);
      stateKeys.push(
        storeKey(o.kind === 'run' ? 'runs' : 'jobs', key),
        storeKey('dedupe', retiredMarkerKey(o.kind, key)),
        ...admissionKeysOf(o, reader).map((k) => reader.aggregateStoreKey(k)),
      );
      const rerun = o.kind === 'job' ? rerunKeyOf(o) : undefined;
      if (rerun !== undefined) stateKeys.push(reader.aggregateStoreKey(rerun));
    }
  }
  await reader.prefetch(stateKeys);

  const deltas: AggregateDelta[] = [];
  const results: DeliveryResult[] = [];
  const received: Array<{ labels: Labels; at: number }> = [];
  for (const [i, d] of decoded.entries()) {
    results.push(await applyDecoded(reader, records[i]!.offset, d, now, limits.dedupeWindowMs, deltas));
    if (d.ok && d.parsed.ok && !isIgnored(d, pending.catalogue)) {
      received.push({ labels: await receivedLabelsOf(reader, d.parsed.observation), at: d.receivedAt });
    }
  }

  const { catalogue } = pending;
  const metricKeys = deltas.map((delta) => catalogue.seriesKey(delta.name, delta.labels));
  await reader.prefetch(metricKeys.map((key) => reader.aggregateStoreKey(key)));
  for (const [i, delta] of deltas.entries()) {
    const key = metricKeys[i]!;
    pending.aggregates.set(key, applyDelta(await reader.aggregate(key), delta, catalogue));
  }
  await foldGauges(reader, now);
  const receivedKeys = received.map(({ labels }) => catalogue.seriesKey(LAST_RECEIVED, labels));
  await reader.prefetch(receivedKeys.map((key) => reader.aggregateStoreKey(key)));
  for (const [i, { labels, at }] of received.entries()) {
    const key = receivedKeys[i]!;
    pending.aggregates.set(key, applyReceived(await reader.aggregate(key), labels, at, catalogue));
  }
  return results;
}

/** A parsed delivery's series of the last-received gauge, under the caps (core/received.ts). */
async function receivedLabelsOf(reader: StateReader, o: Observation): Promise<Labels> {
  const state =
    o.kind === 'run' ? await reader.run(runKey(o.runId, o.runAttempt)) : await reader.job(jobKey(o.jobId));
  const overflow = state
    ? (state.overflow ?? false)
    : (await reader.admission(admissionKeysOf(o, reader)[0]!)) === undefined;
  return receivedLabels(o.repository, overflow);
}

async function applyDecoded(
  reader: StateReader,
  offset: string,
  d: DecodedRecord,
  now: number,
  dedupeWindowMs: number,
  deltas: AggregateDelta[],
): Promise<DeliveryResult> {
  const { pending } = reader;
  const invalid = (deliveryId: string | null, reason: string): DeliveryResult => {
    pending.invalid.push({ offset, deliveryId, reason });
    return 'invalid';
  };
  if (!d.ok) return invalid(d.deliveryId, d.reason);
  // Before anything is read or written: a repository left out costs no state, not even a marker.
  if (isIgnored(d, pending.catalogue)) return 'ignored';
  const idMarker = deliveryMarkerKey(d.deliveryId);
  if (await reader.hasMarker(idMarker)) return 'duplicate';
  // Marked even when invalid or stale below: a redelivery of it is just as bad.
  pending.markers.set(idMarker, now);
  if (!d.parsed.ok) return invalid(d.deliveryId, d.parsed.reason);

  const observation = d.parsed.observation;
  if (observation.kind === 'run') {
    const key = runKey(observation.runId, observation.runAttempt);
    const current = await reader.run(key);
    if (!current && (await startsNothing(reader, 'run', key, observation, d.receivedAt, dedupeWindowMs))) {
      return 'stale';
    }
    const transition = applyRun(current, observation, now);
    if (!transition.changed) return 'stale';
    const state = await decideState(reader, 'run', current, transition.state);
    pending.setRun(key, current, state);
    deltas.push(...(await decidedDeltas(reader, state, observation, transition.deltas)));
    return 'applied';
  }
  const key = jobKey(observation.jobId);
  const current = await reader.job(key);
  if (!current && (await startsNothing(reader, 'job', key, observation, d.receivedAt, dedupeWindowMs))) {
    return 'stale';
  }
  const transition = applyJob(current, observation, now);
  if (!transition.changed) return 'stale';
  const state = await decideState(reader, 'job', current, transition.state);
  pending.setJob(key, current, state);
  deltas.push(...(await decidedDeltas(reader, state, observation, transition.deltas)));
  deltas.push(...(await rerunDeltas(reader, current, state, observation, now)));
  return 'applied';
}

/**
 * Whether an event about an entity the partition does not hold must not create it: it
 * is older than the dedupe window (core/freshness.ts), or the entity completed and was
 * retired within the window (its marker lives). Either way it cannot be told from a
 * resend of something counted already, which creating the entity would count again.
 */
async function startsNothing(
  reader: StateReader,
  kind: 'run' | 'job',
  key: string,
  observation: Observation,
  receivedAt: number,
  dedupeWindowMs: number,
): Promise<boolean> {
  if (isBeyondDedupeWindow(observation, receivedAt, dedupeWindowMs)) return true;
  return reader.hasMarker(retiredMarkerKey(kind, key));
}

/** A transition's deltas under the caps (admission.ts), the observation counted when capped or cut. */
async function decidedDeltas(
  reader: StateReader,
  state: RunState | JobState,
  observation: Observation,
  transitionDeltas: readonly AggregateDelta[],
): Promise<AggregateDelta[]> {
  const decided = await decideDeltas(reader, state, observation, transitionDeltas);
  if (decided.overflow) reader.pending.capped.push({ kind: observation.kind, reason: 'overflow' });
  if (hasTruncatedValue(observation, reader)) {
    reader.pending.capped.push({ kind: observation.kind, reason: 'truncated' });
  }
  return decided.deltas;
}
