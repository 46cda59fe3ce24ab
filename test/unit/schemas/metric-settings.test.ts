// The cardinality settings: each form as docs/metrics.md writes it, and every bad value
// one ConfigError naming its variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, type Env } from '../../../platform/setting.js';
import { readMetricCatalogue, readServedCatalogue } from '../../../schemas/metric-settings.js';
import { DEFAULT_CATALOGUE, DURATION_BUCKETS_SECONDS } from '../../../schemas/metrics.js';

const JOBS_COMPLETED = 'github_actions_jobs_completed_total';
const QUEUE = 'github_actions_job_queue_duration_seconds';

function failure(env: Env): ConfigError {
  try {
    readMetricCatalogue(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('the cardinality settings', () => {
  it('leave every family as the design defines it when unset or blank', () => {
    const catalogue = readMetricCatalogue({ RUNSTREAM_METRIC_LABELS: ' ', RUNSTREAM_RUNNER_POOLS: '' });
    expect(catalogue.families).toEqual(DEFAULT_CATALOGUE.families);
    expect(catalogue.admits('any/repo')).toBe(true);
    expect(readServedCatalogue({})).toBe(DEFAULT_CATALOGUE);
  });

  it('read label allowlists, buckets, branch_kind, pools and repository globs', () => {
    const catalogue = readMetricCatalogue({
      RUNSTREAM_METRIC_LABELS: ` ${JOBS_COMPLETED}: conclusion , repository ; github_actions_job_duration_seconds:branch_kind;`,
      RUNSTREAM_METRIC_BUCKETS: `${QUEUE}:0.5,2,30`,
      RUNSTREAM_BRANCH_KIND: 'true',
      RUNSTREAM_RUNNER_POOLS: 'ubuntu=ubuntu-*,ubuntu-latest; gpu = gpu',
      RUNSTREAM_REPOSITORIES_INCLUDE: 'octo-org/*, acme/infra',
      RUNSTREAM_REPOSITORIES_EXCLUDE: 'octo-org/secret-*',
    });
    // The family's order, not the setting's.
    expect(catalogue.labelsOf(JOBS_COMPLETED)).toEqual(['repository', 'conclusion']);
    expect(catalogue.labelsOf('github_actions_job_duration_seconds')).toEqual(['branch_kind']);
    expect(catalogue.labelsOf('github_actions_workflow_runs')).toEqual([
      'repository',
      'workflow',
      'event',
      'status',
      'branch_kind',
    ]);
    expect(catalogue.bucketsOf(QUEUE)).toEqual([0.5, 2, 30]);
    expect(catalogue.bucketsOf('github_actions_job_duration_seconds')).toEqual(DURATION_BUCKETS_SECONDS);
    expect(catalogue.poolOf('self-hosted,ubuntu-22.04')).toBe('ubuntu');
    expect(catalogue.poolOf('gpu,self-hosted')).toBe('gpu');
    expect(catalogue.poolOf('macos-14')).toBe('macos-14');
    expect(catalogue.admits('octo-org/api')).toBe(true);
    expect(catalogue.admits('Acme/Infra')).toBe(true);
    expect(catalogue.admits('octo-org/secret-sauce')).toBe(false);
    expect(catalogue.admits('acme/mobile')).toBe(false);
  });

  it('give the exporter the buckets the processors count in', () => {
    const env = { RUNSTREAM_METRIC_BUCKETS: `${QUEUE}:1,10`, RUNSTREAM_METRIC_LABELS: 'nonsense' };
    expect(readServedCatalogue(env).bucketsOf(QUEUE)).toEqual([1, 10]);
  });

  it.each([
    [
      'RUNSTREAM_METRIC_LABELS',
      'github_actions_job:repository',
      /unknown metric family github_actions_job \(one of/,
    ],
    [
      'RUNSTREAM_METRIC_LABELS',
      `${JOBS_COMPLETED}:runner`,
      /has no label runner \(it has repository, workflow/,
    ],
    ['RUNSTREAM_METRIC_LABELS', `${JOBS_COMPLETED}:repository;${JOBS_COMPLETED}:conclusion`, /given twice/],
    ['RUNSTREAM_METRIC_LABELS', 'repository,conclusion', /expected <name>:<list> entries/],
    ['RUNSTREAM_METRIC_LABELS', `${JOBS_COMPLETED}:branch_kind`, /needs RUNSTREAM_BRANCH_KIND=true/],
    ['RUNSTREAM_METRIC_BUCKETS', `${QUEUE}:1,10,5`, /buckets must increase, got 1,10,5/],
    ['RUNSTREAM_METRIC_BUCKETS', `${QUEUE}:1,1`, /buckets must increase/],
    ['RUNSTREAM_METRIC_BUCKETS', `${QUEUE}:0,1`, /positive numbers of seconds/],
    ['RUNSTREAM_METRIC_BUCKETS', `${QUEUE}:1,ten`, /positive numbers of seconds/],
    ['RUNSTREAM_METRIC_BUCKETS', `${QUEUE}:`, /positive numbers of seconds/],
    ['RUNSTREAM_METRIC_BUCKETS', `${JOBS_COMPLETED}:1,2`, /unknown histogram family/],
    ['RUNSTREAM_BRANCH_KIND', 'maybe', /expected true or false/],
    ['RUNSTREAM_RUNNER_POOLS', 'ubuntu', /expected <name>=<list> entries/],
    ['RUNSTREAM_RUNNER_POOLS', 'ubuntu=', /pool ubuntu has no label globs/],
    ['RUNSTREAM_RUNNER_POOLS', 'a=x;a=y', /a is given twice/],
    ['RUNSTREAM_RUNNER_POOLS_MODE', 'routing', /expected first-match\|runner-labels/],
    ['RUNSTREAM_REPOSITORIES_INCLUDE', 'octo-org', /owner\/name globs/],
    ['RUNSTREAM_REPOSITORIES_EXCLUDE', 'a/b/c', /owner\/name globs/],
  ])('reject %s=%s in one line naming the variable', (variable, value, problem) => {
    const error = failure({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(problem);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });
});

describe('the runner pools mode', () => {
  it('keeps first-match by default and reads runner labels in runner-labels mode, on processors and exporters', () => {
    const env = { RUNSTREAM_RUNNER_POOLS: 'linux=self-hosted,Linux;gpu=self-hosted,linux,gpu' };
    expect(readMetricCatalogue(env).poolMode).toBe('first-match');
    const routed = { ...env, RUNSTREAM_RUNNER_POOLS_MODE: 'runner-labels' };
    for (const catalogue of [readMetricCatalogue(routed), readServedCatalogue(routed)]) {
      expect(catalogue.poolMode).toBe('runner-labels');
      expect(catalogue.poolNames).toEqual(['linux', 'gpu']);
      expect(catalogue.demandPoolsOf({ labels: 'linux', runnerGroup: '' })).toEqual(['linux', 'gpu']);
    }
  });

  it.each([
    ['linux=self-hosted,linux-*', /not globs \(linux-\*\)/],
    ['(unlabelled)=linux', /names starting with \( or group:/],
    ['Group:x=linux', /names starting with \( or group:/],
  ])('refuses RUNSTREAM_RUNNER_POOLS=%s in runner-labels mode, naming the variable', (pools, problem) => {
    for (const read of [readMetricCatalogue, readServedCatalogue]) {
      let error: unknown;
      try {
        read({ RUNSTREAM_RUNNER_POOLS: pools, RUNSTREAM_RUNNER_POOLS_MODE: 'runner-labels' });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('RUNSTREAM_RUNNER_POOLS');
      expect((error as ConfigError).message).toMatch(problem);
    }
    // The same names and globs stay valid in first-match mode, as before.
    expect(() => readMetricCatalogue({ RUNSTREAM_RUNNER_POOLS: pools })).not.toThrow();
  });
});

describe('the caps', () => {
  it('default to values a large organisation does not reach, and read positive integers', () => {
    expect(readMetricCatalogue({}).maxLabelSets).toEqual({ run: 50_000, job: 100_000, flaky: 50_000 });
    expect(readMetricCatalogue({}).labelValueMaxLength).toBe(1024);
    const catalogue = readMetricCatalogue({
      RUNSTREAM_METRIC_MAX_RUN_LABEL_SETS: '7',
      RUNSTREAM_METRIC_MAX_JOB_LABEL_SETS: '9',
      RUNSTREAM_METRIC_MAX_FLAKY_LABEL_SETS: '5',
      RUNSTREAM_METRIC_LABEL_MAX_LENGTH: '64',
    });
    expect(catalogue.maxLabelSets).toEqual({ run: 7, job: 9, flaky: 5 });
    expect(catalogue.labelValueMaxLength).toBe(64);
  });

  it('refuse a cap of 0 and a length too short to read', () => {
    expect(failure({ RUNSTREAM_METRIC_MAX_RUN_LABEL_SETS: '0' }).message).toMatch(
      /RUNSTREAM_METRIC_MAX_RUN_LABEL_SETS/,
    );
    expect(failure({ RUNSTREAM_METRIC_MAX_JOB_LABEL_SETS: 'lots' }).message).toMatch(
      /RUNSTREAM_METRIC_MAX_JOB_LABEL_SETS/,
    );
    expect(failure({ RUNSTREAM_METRIC_LABEL_MAX_LENGTH: '3' }).message).toMatch(
      /RUNSTREAM_METRIC_LABEL_MAX_LENGTH/,
    );
  });
});
