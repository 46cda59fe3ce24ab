// `runstream exporter` configuration.
import { type CommonConfig, type Env, readCommonConfig, readPort } from '../platform/config.js';
import { readScaleSetPollerConfig, type ScaleSetPollerConfig } from './scale-sets.js';

export interface ExporterConfig extends CommonConfig {
  port: number;
  /** Runner scale-set statistics to poll, when configured. */
  scaleSets: ScaleSetPollerConfig | undefined;
}

export function readExporterConfig(env: Env): ExporterConfig {
  return {
    ...readCommonConfig(env),
    port: readPort(env, 'RUNSTREAM_EXPORTER_PORT', 9464),
    scaleSets: readScaleSetPollerConfig(env),
  };
}
