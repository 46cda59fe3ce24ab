// `runstream exporter` configuration.
import { type CommonConfig, type Env, readCommonConfig } from '../platform/config.js';
import { portSetting, type SettingDoc } from '../platform/setting.js';
import { readServedCatalogue } from '../schemas/metric-settings.js';
import type { MetricCatalogue } from '../schemas/metrics.js';
import { readScaleSetPollerConfig, SCALE_SET_SETTINGS, type ScaleSetPollerConfig } from './scale-sets.js';

export const EXPORTER_PORT = portSetting(
  {
    name: 'RUNSTREAM_EXPORTER_PORT',
    meaning:
      'exporter HTTP port: `/metrics`, `/healthz`, `/readyz`, `/demand` (queued jobs per pool as JSON)',
    commands: ['exporter'],
    section: 'roles',
  },
  9464,
);

export const EXPORTER_SETTINGS: readonly SettingDoc[] = [EXPORTER_PORT, ...SCALE_SET_SETTINGS];

export interface ExporterConfig extends CommonConfig {
  port: number;
  /** Runner scale-set statistics to poll, when configured. */
  scaleSets: ScaleSetPollerConfig | undefined;
  /** The families as served: the histogram buckets the processors count in (RUNSTREAM_METRIC_BUCKETS). */
  catalogue: MetricCatalogue;
}

export function readExporterConfig(env: Env): ExporterConfig {
  return {
    ...readCommonConfig(env),
    port: EXPORTER_PORT.read(env),
    scaleSets: readScaleSetPollerConfig(env),
    catalogue: readServedCatalogue(env),
  };
}
