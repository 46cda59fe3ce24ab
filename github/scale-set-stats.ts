// The seven statistics of runner scale sets (available, acquired, assigned, running
// jobs; registered, busy, idle runners), read through the Actions service. Pass a
// withCache'd client: names and runner groups change rarely and come from the cache,
// while statistics are always fetched (withCache leaves them uncached by default).
import type { ActionsService, ScaleSetStatistics } from './actions-service.js';

export interface ScaleSetSample {
  id: number;
  scaleSet: string;
  runnerGroup: string;
  statistics: ScaleSetStatistics;
}

/** One per scale set: a failing scale set never hides the others' numbers. */
export type ScaleSetPoll =
  | { id: number; ok: true; sample: ScaleSetSample }
  | { id: number; ok: false; error: Error };

/**
 * Polls every scale set concurrently (under the HTTP client's bound).
 *
 * @example
 * for (const poll of await pollScaleSetStatistics(cachedService, [7, 8]))
 *   if (poll.ok) idle.set({ scale_set: poll.sample.scaleSet }, poll.sample.statistics.totalIdleRunners);
 */
export async function pollScaleSetStatistics(
  service: Pick<ActionsService, 'getRunnerScaleSetById' | 'getScaleSetStatistics'>,
  ids: readonly number[],
): Promise<ScaleSetPoll[]> {
  return Promise.all(
    ids.map(async (id): Promise<ScaleSetPoll> => {
      try {
        const [scaleSet, statistics] = await Promise.all([
          service.getRunnerScaleSetById(id),
          service.getScaleSetStatistics(id),
        ]);
        return {
          id,
          ok: true,
          sample: {
            id,
            scaleSet: scaleSet.name,
            runnerGroup: scaleSet.runnerGroupName ?? String(scaleSet.runnerGroupId),
            statistics,
          },
        };
      } catch (error) {
        return { id, ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
    }),
  );
}
