// Optional runner scale-set statistics on the exporter's /metrics, polled through the
// cached Actions service client. A failed poll keeps the last values and is counted;
// it never breaks /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActionsService, ScaleSetStatistics } from '../github/actions-service.js';
import { withCache } from '../github/cache.js';
import { GITHUB_CONFIG_URL, readActionsService } from '../github/config.js';
import { pollScaleSetStatistics } from '../github/scale-set-stats.js';
import type { Logger } from '../platform/log.js';
import { ConfigError, durationSetting, type Env, type SettingDoc, setting } from '../platform/setting.js';

const STATISTICS: Array<[keyof ScaleSetStatistics, string, string]> = [
  ['totalAvailableJobs', 'github_actions_scale_set_available_jobs', 'Jobs available to the scale set'],
  ['totalAcquiredJobs', 'github_actions_scale_set_acquired_jobs', 'Jobs the scale set acquired'],
  ['totalAssignedJobs', 'github_actions_scale_set_assigned_jobs', 'Jobs assigned to the scale set'],
  ['totalRunningJobs', 'github_actions_scale_set_running_jobs', 'Jobs running on the scale set'],
  [
    'totalRegisteredRunners',
    'github_actions_scale_set_registered_runners',
    'Runners registered to the scale set',
  ],
  ['totalBusyRunners', 'github_actions_scale_set_busy_runners', 'Busy runners of the scale set'],
  ['totalIdleRunners', 'github_actions_scale_set_idle_runners', 'Idle runners of the scale set'],
];

export const SCALE_SETS = setting(
  {
    name: 'RUNSTREAM_SCALE_SETS',
    shown: 'off',
    meaning:
      'comma-separated runner scale set ids whose statistics the exporter serves as `github_actions_scale_set_{available,acquired,assigned,running}_jobs` and `github_actions_scale_set_{registered,busy,idle}_runners` (labels `scale_set`, `runner_group`); needs `RUNSTREAM_GITHUB_CONFIG_URL` and GitHub credentials',
    commands: ['exporter'],
    section: 'github',
  },
  [] as number[],
  (raw, name) => {
    const ids = raw.split(',').map((part) => Number(part.trim()));
    if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) {
      throw new ConfigError(name, `expected comma-separated scale set ids, got ${JSON.stringify(raw)}`);
    }
    return ids;
  },
);

export const SCALE_SET_POLL_INTERVAL = durationSetting(
  {
    name: 'RUNSTREAM_SCALE_SET_POLL_INTERVAL',
    meaning:
      'how often the statistics are polled (a failed poll keeps the last values and counts `runstream_exporter_github_errors_total`)',
    commands: ['exporter'],
    section: 'github',
  },
  30_000,
);

export const SCALE_SET_SETTINGS: readonly SettingDoc[] = [SCALE_SETS, SCALE_SET_POLL_INTERVAL];

export interface ScaleSetPollerConfig {
  scaleSetIds: number[];
  intervalMs: number;
  service: ActionsService;
}

/** Undefined when RUNSTREAM_SCALE_SETS is not set (the feature is off). */
export function readScaleSetPollerConfig(env: Env): ScaleSetPollerConfig | undefined {
  const scaleSetIds = SCALE_SETS.read(env);
  const intervalMs = SCALE_SET_POLL_INTERVAL.read(env);
  GITHUB_CONFIG_URL.read(env); // checked even while the feature is off
  if (scaleSetIds.length === 0) return undefined;
  const service = readActionsService(env, SCALE_SETS.name);
  // Scale-set names and groups are cached for ten polls; statistics are always fresh.
  return { scaleSetIds, intervalMs, service: withCache(service, { ttl: intervalMs * 10, max: 1000 }) };
}

export class ScaleSetPoller {
  private readonly gauges: Array<[keyof ScaleSetStatistics, Gauge<'scale_set' | 'runner_group'>]>;
  private readonly errors: Counter<'scale_set'>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ScaleSetPollerConfig,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.gauges = STATISTICS.map(([key, name, help]) => [
      key,
      new Gauge({ name, help, labelNames: ['scale_set', 'runner_group'], registers: [registry] }),
    ]);
    this.errors = new Counter({
      name: 'runstream_exporter_github_errors_total',
      help: 'Failed scale-set statistics polls (the last values stay served)',
      labelNames: ['scale_set'],
      registers: [registry],
    });
  }

  async poll(): Promise<void> {
    for (const result of await pollScaleSetStatistics(this.config.service, this.config.scaleSetIds)) {
      if (!result.ok) {
        this.errors.inc({ scale_set: String(result.id) });
        this.logger.warn(
          { scaleSetId: result.id, err: result.error.message },
          'scale-set statistics poll failed',
        );
        continue;
      }
      const labels = { scale_set: result.sample.scaleSet, runner_group: result.sample.runnerGroup };
      for (const [key, gauge] of this.gauges) gauge.set(labels, result.sample.statistics[key]);
    }
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.config.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
