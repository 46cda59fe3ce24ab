// Scale-set statistics on the exporter's registry, polled from a fake Actions service:
// values appear, failures keep the last values and are counted, /metrics never breaks.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readScaleSetPollerConfig, ScaleSetPoller } from '../../../exporter/scale-sets.js';
import { createLogger } from '../../../platform/log.js';
import { FakeGitHub } from '../../support/fake-github.js';

describe('scale-set statistics in the exporter', () => {
  let fake: FakeGitHub | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it('serves the seven statistics, keeps the last values when the API fails, and counts the failure', async () => {
    fake = await new FakeGitHub().start();
    const config = readScaleSetPollerConfig({
      RUNSTREAM_SCALE_SETS: '7',
      RUNSTREAM_GITHUB_CONFIG_URL: 'https://github.com/octo-org',
      RUNSTREAM_GITHUB_TOKEN: 'secret-token-value',
      RUNSTREAM_GITHUB_API_URL: fake.url,
    })!;
    const registry = new Registry();
    const poller = new ScaleSetPoller(config, registry, createLogger('test', 'silent'));
    await poller.poll();
    let text = await registry.metrics();
    expect(text).toContain(
      'github_actions_scale_set_available_jobs{scale_set="scale-set-7",runner_group="Default"} 3',
    );
    expect(text).toContain(
      'github_actions_scale_set_idle_runners{scale_set="scale-set-7",runner_group="Default"} 3',
    );
    for (const name of [
      'acquired_jobs',
      'assigned_jobs',
      'running_jobs',
      'registered_runners',
      'busy_runners',
    ]) {
      expect(text).toContain(`github_actions_scale_set_${name}{`);
    }

    fake.statistics = { ...fake.statistics, totalAvailableJobs: 9 };
    await poller.poll();
    expect(await registry.metrics()).toContain(
      'github_actions_scale_set_available_jobs{scale_set="scale-set-7",runner_group="Default"} 9',
    );

    fake.inject((r) => r.path.startsWith('/service/'), { status: 400, body: { message: 'broken' } }, 10);
    await poller.poll();
    text = await registry.metrics();
    expect(text).toContain(
      'github_actions_scale_set_available_jobs{scale_set="scale-set-7",runner_group="Default"} 9',
    );
    expect(text).toContain('runstream_exporter_github_errors_total{scale_set="7"} 1');
    expect(text).not.toContain('secret-token-value');
  });

  it('is off without RUNSTREAM_SCALE_SETS and refuses half a configuration', () => {
    expect(readScaleSetPollerConfig({})).toBeUndefined();
    expect(() => readScaleSetPollerConfig({ RUNSTREAM_SCALE_SETS: '7' })).toThrow(
      /RUNSTREAM_GITHUB_CONFIG_URL/,
    );
    expect(() => readScaleSetPollerConfig({ RUNSTREAM_SCALE_SETS: 'x' })).toThrow(/RUNSTREAM_SCALE_SETS/);
    expect(() =>
      readScaleSetPollerConfig({
        RUNSTREAM_SCALE_SETS: '7',
        RUNSTREAM_GITHUB_CONFIG_URL: 'https://github.com/o',
      }),
    ).toThrow(/RUNSTREAM_GITHUB_TOKEN/);
  });
});
