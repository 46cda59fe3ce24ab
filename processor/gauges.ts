// The gauges of one partition (the why is in core/gauges.ts): the memberships that run and
// job changes move, and the oldest queued job of each set, folded into gauge aggregates
// read and written through one transaction's StateReader.
import { applyGaugeDelta, withOldest } from './core/gauges.js';
import type { StateReader } from './state-reader.js';

/** Folds the gauge memberships and queue changes of the pending changes into gauge aggregates. */
export async function foldGauges(reader: StateReader, now: number): Promise<void> {
  const { pending } = reader;
  const { catalogue } = pending;
  const keys = pending.gauges.map((delta) => catalogue.seriesKey(delta.name, delta.labels));
  await reader.prefetch(
    [...keys, ...pending.touchedQueues.keys()].map((key) => reader.aggregateStoreKey(key)),
  );
  for (const [i, delta] of pending.gauges.entries()) {
    const key = keys[i]!;
    pending.aggregates.set(key, applyGaugeDelta(await reader.aggregate(key), delta, now, catalogue));
  }
  pending.gauges.length = 0;
  for (const [set, labels] of pending.touchedQueues) {
    pending.aggregates.set(
      set,
      withOldest(await reader.aggregate(set), labels, await reader.oldestQueued(set), now, catalogue),
    );
  }
  pending.touchedQueues.clear();
}
