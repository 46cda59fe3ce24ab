// Flaky jobs (the why is in core/reruns.ts): a job's first completion read and written
// through one transaction's StateReader, so its RerunState commits with the job state
// and the counter it moves.
import { rerunKey } from '../schemas/changelog.js';
import type { JobState } from '../schemas/model.js';
import { decideFlakyDelta } from './admission.js';
import { applyRerun, flakyDelta, isFirstCompletion, mattersForReruns } from './core/reruns.js';
import type { AggregateDelta, JobObservation } from './core/types.js';
import type { StateReader } from './state-reader.js';

/** The RerunState key an observation will read, if its job's completion can matter (prefetched). */
export function rerunKeyOf(observation: JobObservation): string | undefined {
  return observation.status === 'completed' && mattersForReruns(observation)
    ? rerunKey(observation.runId, observation.name)
    : undefined;
}

/**
 * The flaky-jobs delta of a job's transition (none unless it is the job's first
 * completion and makes the job flaky), staging its RerunState when that changes.
 */
export async function rerunDeltas(
  reader: StateReader,
  previous: JobState | undefined,
  next: JobState,
  observation: JobObservation,
  now: number,
): Promise<AggregateDelta[]> {
  const key = rerunKeyOf(observation);
  if (key === undefined || !isFirstCompletion(previous, next)) return [];
  const result = applyRerun(await reader.rerun(key), observation, now);
  if (!result) return [];
  reader.pending.reruns.set(key, result.state);
  if (!result.flaky) return [];
  const decided = await decideFlakyDelta(reader, observation, flakyDelta(observation));
  if (decided.overflow) reader.pending.capped.push({ kind: 'job', reason: 'overflow' });
  return [decided.delta];
}
