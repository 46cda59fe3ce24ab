// The cardinality settings: label allowlists, histogram buckets, branch_kind, runner
// pools and repository filters, declared once (docs/metrics.md), parsed strictly into
// the MetricCatalogue that processors build every series through and exporters serve
// the buckets of. A bad value is one ConfigError naming the variable.
import {
  boolSetting,
  ConfigError,
  choiceSetting,
  type Env,
  intSetting,
  type Setting,
  type SettingDoc,
  setting,
} from '../platform/setting.js';
import {
  AGGREGATE_FAMILIES,
  DEFAULT_CATALOGUE,
  DEFAULT_LABEL_VALUE_MAX_LENGTH,
  DEFAULT_MAX_LABEL_SETS,
  DURATION_BUCKETS_SECONDS,
  familyOf,
  isReservedPoolName,
  type LabelSetKind,
  MetricCatalogue,
  type MetricOptions,
  POOL_MODES,
  type PoolMode,
  type PoolRule,
} from './metrics.js';

const both = ['processor', 'exporter'] as const;
const processor = ['processor'] as const;

/** `key:value;key:value` entries, each split once at `separator`; empty entries are skipped. */
function entries(raw: string, name: string, separator: ':' | '='): Array<[string, string]> {
  return raw
    .split(';')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const at = entry.indexOf(separator);
      if (at <= 0)
        throw new ConfigError(
          name,
          `expected <name>${separator}<list> entries, got ${JSON.stringify(entry)}`,
        );
      return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
    });
}

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

function once<T>(name: string, seen: Map<string, T>, key: string, value: T): void {
  if (seen.has(key)) throw new ConfigError(name, `${key} is given twice`);
  seen.set(key, value);
}

function knownFamily(name: string, family: string, type?: 'histogram'): void {
  const known = familyOf(family);
  if (!known || (type && known.type !== type)) {
    const names = AGGREGATE_FAMILIES.filter((f) => !type || f.type === type).map((f) => f.name);
    throw new ConfigError(name, `unknown ${type ?? 'metric'} family ${family} (one of ${names.join(', ')})`);
  }
}

/** A setting of `<family>:<value>;<family>:...`, each family known (of `type`) and given once. */
function perFamily<T>(
  doc: Parameters<typeof setting>[0],
  type: 'histogram' | undefined,
  parse: (value: string, name: string, family: string) => T,
): Setting<Readonly<Record<string, T>>> {
  return setting<Readonly<Record<string, T>>>(doc, {}, (raw, name) => {
    const values = new Map<string, T>();
    for (const [family, value] of entries(raw, name, ':')) {
      knownFamily(name, family, type);
      once(name, values, family, parse(value, name, family));
    }
    return Object.fromEntries(values);
  });
}

export const METRIC_LABELS = perFamily(
  {
    name: 'RUNSTREAM_METRIC_LABELS',
    shown: 'every label',
    meaning:
      'labels kept per family, `<family>:<label>,<label>;<family>:...` (for example `github_actions_jobs_completed_total:repository,conclusion`); a family not listed keeps all its labels, the dropped ones are summed over',
    commands: processor,
    section: 'metrics',
    reprocess: true,
  },
  undefined,
  (labels, name, family): readonly string[] => {
    const available = [...familyOf(family)!.labels, ...(familyOf(family)!.optional ?? [])];
    const unknown = list(labels).filter((label) => !available.includes(label));
    if (unknown.length > 0) {
      throw new ConfigError(
        name,
        `${family} has no label ${unknown.join(', ')} (it has ${available.join(', ')})`,
      );
    }
    return list(labels);
  },
);

function parseBuckets(raw: string, name: string, family: string): readonly number[] {
  const bounds = list(raw).map(Number);
  if (bounds.length === 0 || bounds.some((b) => !Number.isFinite(b) || b <= 0)) {
    throw new ConfigError(
      name,
      `${family}: expected positive numbers of seconds, got ${JSON.stringify(raw)}`,
    );
  }
  if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) {
    throw new ConfigError(name, `${family}: buckets must increase, got ${bounds.join(',')}`);
  }
  return bounds;
}

export const METRIC_BUCKETS = perFamily(
  {
    name: 'RUNSTREAM_METRIC_BUCKETS',
    shown: `\`${DURATION_BUCKETS_SECONDS.join(',')}\``,
    meaning:
      'bucket bounds (seconds, increasing) per histogram family, `<family>:1,10,60;<family>:...`; a family not listed keeps the default',
    commands: both,
    section: 'metrics',
    reprocess: true,
  },
  'histogram',
  parseBuckets,
);

export const BRANCH_KIND = boolSetting(
  {
    name: 'RUNSTREAM_BRANCH_KIND',
    meaning:
      "adds `branch_kind` (`default` or `other`: the run's head branch against the repository's default branch, '' when unknown) to the run and job families",
    commands: processor,
    section: 'metrics',
    reprocess: true,
  },
  false,
);

/** A glob of `owner/name`. */
function repositoryGlob(name: string, pattern: string): string {
  if (pattern.split('/').length !== 2) {
    throw new ConfigError(
      name,
      `expected owner/name globs such as my-org/* , got ${JSON.stringify(pattern)}`,
    );
  }
  return pattern;
}

export const RUNNER_POOLS = setting<readonly PoolRule[]>(
  {
    name: 'RUNSTREAM_RUNNER_POOLS',
    meaning:
      'runner pools, `<pool>=<label>,<label>;<pool>=...`, read as RUNSTREAM_RUNNER_POOLS_MODE says: `first-match` takes globs (`ubuntu=ubuntu-*;windows=windows-*`) and shows a job\'s `labels` label as the first pool one of whose globs matches one of its runs-on labels (else its labels); `runner-labels` takes the labels each pool\'s runners carry (`linux=self-hosted,linux,x64`) and leaves `labels` as it is. Either way `github_actions_pool_queued_jobs` counts queued jobs per pool (docs/metrics.md, "Runner pools")',
    commands: both,
    section: 'metrics',
    reprocess: true,
  },
  [],
  (raw, name) => {
    const pools = new Map<string, PoolRule>();
    for (const [pool, patterns] of entries(raw, name, '=')) {
      if (/[,;=]/.test(pool))
        throw new ConfigError(name, `a pool name has no , ; or =, got ${JSON.stringify(pool)}`);
      const globs = list(patterns);
      if (globs.length === 0) throw new ConfigError(name, `pool ${pool} has no label globs`);
      once(name, pools, pool, { pool, patterns: globs });
    }
    return [...pools.values()];
  },
);

export const RUNNER_POOLS_MODE = choiceSetting<PoolMode>(
  {
    name: 'RUNSTREAM_RUNNER_POOLS_MODE',
    meaning:
      "`first-match` (the default: a job is in the first pool a glob of which matches any of its labels) or `runner-labels` (GitHub's routing rule: a queued job is demand for every pool whose runners carry all of its labels, case-insensitive)",
    commands: both,
    section: 'metrics',
    reprocess: true,
  },
  'first-match',
  POOL_MODES,
);

/** In runner-labels mode, pools are exact labels under names runstream does not give itself. */
function checkRunnerLabelPools(pools: readonly PoolRule[]): void {
  for (const { pool, patterns } of pools) {
    if (isReservedPoolName(pool)) {
      throw new ConfigError(
        RUNNER_POOLS.name,
        `pool ${pool}: names starting with ( or group: are runstream's own (unlabelled, unmatched and runner-group demand)`,
      );
    }
    const glob = patterns.find((label) => /[*?]/.test(label));
    if (glob !== undefined) {
      throw new ConfigError(
        RUNNER_POOLS.name,
        `pool ${pool}: ${RUNNER_POOLS_MODE.name}=runner-labels takes the exact labels its runners carry, not globs (${glob})`,
      );
    }
  }
}

function repositorySetting(doc: Omit<SettingDoc, 'shown' | 'section' | 'commands'>) {
  return setting<readonly string[]>({ ...doc, commands: processor, section: 'metrics' }, [], (raw, name) =>
    list(raw).map((pattern) => repositoryGlob(name, pattern)),
  );
}

export const REPOSITORIES_INCLUDE = repositorySetting({
  name: 'RUNSTREAM_REPOSITORIES_INCLUDE',
  meaning:
    'only deliveries of these repositories are processed, comma-separated `owner/name` globs (`*` and `?`, case-insensitive; `my-org/*`); others are counted as ignored and cost no state',
  reprocess: true,
});

export const REPOSITORIES_EXCLUDE = repositorySetting({
  name: 'RUNSTREAM_REPOSITORIES_EXCLUDE',
  meaning: 'deliveries of these repositories are ignored (the same globs), even when included',
  reprocess: true,
});

export const LABEL_VALUE_MAX_LENGTH = intSetting(
  {
    name: 'RUNSTREAM_METRIC_LABEL_MAX_LENGTH',
    meaning:
      'label values longer than this many characters are served cut to it, followed by `…(truncated <12 hex digits of their SHA-256>)`',
    commands: processor,
    section: 'metrics',
    reprocess: true,
  },
  DEFAULT_LABEL_VALUE_MAX_LENGTH,
  16,
  65_536,
);

function labelSetCap(kind: LabelSetKind, labels: string, counted = `${kind}s`) {
  return intSetting(
    {
      name: `RUNSTREAM_METRIC_MAX_${kind.toUpperCase()}_LABEL_SETS`,
      meaning: `distinct ${labels} a processor partition admits into series, first come first served; ${counted} of any other are counted under \`(other)\``,
      commands: processor,
      section: 'metrics',
      reprocess: true,
    },
    DEFAULT_MAX_LABEL_SETS[kind],
    1,
  );
}

export const MAX_RUN_LABEL_SETS = labelSetCap('run', '(repository, workflow) of runs');
export const MAX_JOB_LABEL_SETS = labelSetCap('job', '(repository, workflow, runner_group, labels) of jobs');
export const MAX_FLAKY_LABEL_SETS = labelSetCap(
  'flaky',
  '(repository, workflow, job_name) of github_actions_jobs_flaky_total',
  'flaky jobs',
);

export const METRIC_SETTINGS: readonly SettingDoc[] = [
  METRIC_LABELS,
  METRIC_BUCKETS,
  BRANCH_KIND,
  RUNNER_POOLS,
  RUNNER_POOLS_MODE,
  REPOSITORIES_INCLUDE,
  REPOSITORIES_EXCLUDE,
  LABEL_VALUE_MAX_LENGTH,
  MAX_RUN_LABEL_SETS,
  MAX_JOB_LABEL_SETS,
  MAX_FLAKY_LABEL_SETS,
];

/** The catalogue a processor builds its series through. */
export function readMetricCatalogue(env: Env): MetricCatalogue {
  const options: MetricOptions = {
    labels: METRIC_LABELS.read(env),
    buckets: METRIC_BUCKETS.read(env),
    branchKind: BRANCH_KIND.read(env),
    pools: RUNNER_POOLS.read(env),
    poolMode: RUNNER_POOLS_MODE.read(env),
    repositories: { include: REPOSITORIES_INCLUDE.read(env), exclude: REPOSITORIES_EXCLUDE.read(env) },
    labelValueMaxLength: LABEL_VALUE_MAX_LENGTH.read(env),
    maxLabelSets: {
      run: MAX_RUN_LABEL_SETS.read(env),
      job: MAX_JOB_LABEL_SETS.read(env),
      flaky: MAX_FLAKY_LABEL_SETS.read(env),
    },
  };
  if (options.poolMode === 'runner-labels') checkRunnerLabelPools(options.pools ?? []);
  const needsBranchKind = Object.entries(options.labels ?? {}).find(([, kept]) =>
    kept.includes('branch_kind'),
  );
  if (needsBranchKind && !options.branchKind) {
    throw new ConfigError(
      METRIC_LABELS.name,
      `${needsBranchKind[0]} keeps branch_kind, which needs ${BRANCH_KIND.name}=true`,
    );
  }
  return new MetricCatalogue(options);
}

/**
 * The catalogue an exporter serves: the buckets, and the configured pools (served at 0
 * while none of their jobs is queued, so that a scaler can tell a pool with no demand
 * from a pool name it got wrong: docs/autoscaling.md).
 */
export function readServedCatalogue(env: Env): MetricCatalogue {
  const buckets = METRIC_BUCKETS.read(env);
  const pools = RUNNER_POOLS.read(env);
  const poolMode = RUNNER_POOLS_MODE.read(env);
  if (poolMode === 'runner-labels') checkRunnerLabelPools(pools);
  return Object.keys(buckets).length === 0 && pools.length === 0
    ? DEFAULT_CATALOGUE
    : new MetricCatalogue({ buckets, pools, poolMode });
}
