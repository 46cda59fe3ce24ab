// The seven statistics of runner scale sets, read through the (cached) Actions
// service: names and runner groups change rarely and are cached; the numbers are not.
import type { ActionsService, ScaleSetStatistics } from './actions-service.js';

export interface ScaleSetSample {
  id: number;
  scaleSet: string;
  runnerGroup: string;
  statistics: ScaleSetStatistics;
}

export type ScaleSetPoll =
  | { id: number; ok: true; sample: ScaleSetSample }
  | { id: number; ok: false; error: Error };

export async function pollScaleSetStatistics(
  service: ActionsService,
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
        return { id, ok: false, error: error as Error };
      }
    }),
  );
}
