// The metric catalogue: every github_actions_ family declared once, with its type,
// help text, label names (in the order they are keyed and served) and buckets; and
// MetricCatalogue, the catalogue as an operator configured it (label allowlists,
// repository filters, runner pools, buckets, branch_kind; docs/metrics.md). Processors
// build every series through it, gauges and counters alike; exporters take the
// buckets from it.
import { createHash } from 'node:crypto';

/** Histogram buckets of every duration family (seconds), as the design fixes them. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600,
];

/** The optional label of run and job families: `default` or `other` branch (RUNSTREAM_BRANCH_KIND). */
const BRANCH_KIND = ['branch_kind'] as const;

export interface MetricFamily {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  labels: readonly string[];
  /** Labels an operator may add (RUNSTREAM_BRANCH_KIND), after `labels`. */
  optional?: readonly string[];
  /** Histograms only. */
  buckets?: readonly number[];
  /**
   * Gauges only: how partitions' values combine (a count adds up; the oldest is the minimum
   * set; a latest time is the maximum). A `max` gauge is a time kept by the processors as
   * the greatest of what their deliveries say, not a count of the runs and jobs they hold.
   */
  merge?: 'sum' | 'min' | 'max';
}

export const METRIC_FAMILIES = {
  runs: {
    name: 'github_actions_workflow_runs',
    type: 'gauge',
    help: 'Workflow runs by non-terminal status',
    labels: ['repository', 'workflow', 'event', 'status'],
    optional: BRANCH_KIND,
    merge: 'sum',
  },
  jobs: {
    name: 'github_actions_jobs',
    type: 'gauge',
    help: 'Jobs queued, waiting or in progress',
    labels: ['repository', 'workflow', 'runner_group', 'labels', 'status'],
    optional: BRANCH_KIND,
    merge: 'sum',
  },
  oldestQueued: {
    name: 'github_actions_job_oldest_queued_timestamp_seconds',
    type: 'gauge',
    help: 'Creation time (Unix seconds) of the oldest job queued now, per runner group and labels',
    labels: ['runner_group', 'labels'],
    merge: 'min',
  },
  runnersBusy: {
    name: 'github_actions_runners_busy',
    type: 'gauge',
    help: 'Runners busy now (jobs in progress), per runner group and labels (the pool, when RUNSTREAM_RUNNER_POOLS names one)',
    labels: ['runner_group', 'labels'],
    merge: 'sum',
  },
  runsCompleted: {
    name: 'github_actions_workflow_runs_completed_total',
    type: 'counter',
    help: 'Workflow run attempts completed, by conclusion',
    labels: ['repository', 'workflow', 'event', 'conclusion'],
    optional: BRANCH_KIND,
  },
  jobsCompleted: {
    name: 'github_actions_jobs_completed_total',
    type: 'counter',
    help: 'Jobs completed, by conclusion',
    labels: ['repository', 'workflow', 'runner_group', 'labels', 'conclusion'],
    optional: BRANCH_KIND,
  },
  jobsFlaky: {
    name: 'github_actions_jobs_flaky_total',
    type: 'counter',
    help: 'Jobs (a run and a job name) that concluded success on an attempt after one that failed; once per run and job name',
    labels: ['repository', 'workflow', 'job_name'],
    optional: BRANCH_KIND,
  },
  queueDuration: {
    name: 'github_actions_job_queue_duration_seconds',
    type: 'histogram',
    help: 'Time from job creation to a runner starting it',
    labels: ['repository', 'runner_group', 'labels'],
    optional: BRANCH_KIND,
    buckets: DURATION_BUCKETS_SECONDS,
  },
  jobDuration: {
    name: 'github_actions_job_duration_seconds',
    type: 'histogram',
    help: 'Time from job start to completion',
    labels: ['repository', 'workflow', 'conclusion'],
    optional: BRANCH_KIND,
    buckets: DURATION_BUCKETS_SECONDS,
  },
  runDuration: {
    name: 'github_actions_workflow_run_duration_seconds',
    type: 'histogram',
    help: 'Time from run attempt start to completion',
    labels: ['repository', 'workflow', 'event', 'conclusion'],
    optional: BRANCH_KIND,
    buckets: DURATION_BUCKETS_SECONDS,
  },
  poolQueued: {
    name: 'github_actions_pool_queued_jobs',
    type: 'gauge',
    help: 'Jobs queued now (waiting jobs excluded) that a runner pool could take; a job counts for every pool that can take it (docs/metrics.md, "Runner pools")',
    labels: ['pool'],
    merge: 'sum',
  },
  lastReceived: {
    name: 'runstream_delivery_last_received_timestamp_seconds',
    type: 'gauge',
    help: 'When ingest received the latest workflow_run or workflow_job delivery of the repository (Unix seconds): the greatest over every delivery processed, duplicates and stale ones included',
    labels: ['repository'],
    merge: 'max',
  },
} as const satisfies Record<string, MetricFamily>;

type Families = typeof METRIC_FAMILIES;
type NameOf<T extends MetricFamily['type']> = {
  [K in keyof Families]: Families[K]['type'] extends T ? Families[K]['name'] : never;
}[keyof Families];

export type GaugeName = NameOf<'gauge'>;
export type CounterName = NameOf<'counter'>;
export type HistogramName = NameOf<'histogram'>;
export type AggregateName = GaugeName | CounterName | HistogramName;

/** Every family, in serving order; processors keep each as per-partition aggregates. */
export const AGGREGATE_FAMILIES: readonly MetricFamily[] = Object.values(METRIC_FAMILIES);

const byName = new Map<string, MetricFamily>(Object.values(METRIC_FAMILIES).map((f) => [f.name, f]));

export function familyOf(name: string): MetricFamily | undefined {
  return byName.get(name);
}

export function isGaugeName(name: string): name is GaugeName {
  return byName.get(name)?.type === 'gauge';
}

export function isCounterName(name: string): name is CounterName {
  return byName.get(name)?.type === 'counter';
}

export function isHistogramName(name: string): name is HistogramName {
  return byName.get(name)?.type === 'histogram';
}

/**
 * A runner pool. In `first-match` mode, jobs with any runs-on label matching one of
 * `patterns` (globs) take its name; in `runner-labels` mode, `patterns` are the labels
 * the pool's runners carry, and the pool can take a job whose labels are all among them.
 */
export interface PoolRule {
  pool: string;
  patterns: readonly string[];
}

/**
 * How RUNSTREAM_RUNNER_POOLS reads: `first-match` (a job takes the first pool one of
 * whose globs matches one of its labels, and the `labels` label shows that pool) or
 * `runner-labels` (GitHub's routing rule: a pool is the labels its runners carry, a job
 * is demand for every pool that carries all of its labels, and `labels` stays as it is).
 */
export type PoolMode = 'first-match' | 'runner-labels';
export const POOL_MODES: readonly PoolMode[] = ['first-match', 'runner-labels'];

/** The pool of queued jobs with no runs-on labels (a runner group target) whose group the payload does not name. */
export const UNLABELLED_POOL = '(unlabelled)';
/** In `runner-labels` mode, the pool of queued jobs no configured pool can take. */
export const UNMATCHED_POOL = '(unmatched)';
/** The pool of queued jobs with no runs-on labels whose runner group the payload names: `group:<name>`. */
export const GROUP_POOL_PREFIX = 'group:';

/** Whether a pool name is one runstream gives itself (a configured pool may not take it). */
export const isReservedPoolName = (pool: string): boolean =>
  pool.startsWith('(') || pool.toLowerCase().startsWith(GROUP_POOL_PREFIX);

/**
 * The value every capped label (repository, workflow, runner_group, labels) takes in the
 * series of a label set its partition's cap refused (docs/metrics.md, "Caps").
 */
export const OVERFLOW_VALUE = '(other)';

/** Label values longer than this many characters are truncated (RUNSTREAM_METRIC_LABEL_MAX_LENGTH). */
export const DEFAULT_LABEL_VALUE_MAX_LENGTH = 1024;

/**
 * What a cap bounds: the label sets of runs, of jobs, and of flaky jobs (repository,
 * workflow, job name: github_actions_jobs_flaky_total), each capped on its own.
 */
export type LabelSetKind = 'run' | 'job' | 'flaky';

/** Label sets a partition admits per kind (RUNSTREAM_METRIC_MAX_{RUN,JOB,FLAKY}_LABEL_SETS). */
export const DEFAULT_MAX_LABEL_SETS: Readonly<Record<LabelSetKind, number>> = {
  run: 50_000,
  job: 100_000,
  flaky: 50_000,
};

/**
 * A label value cut to `max` characters (code points, so no surrogate pair is split),
 * marked visibly and followed by 12 hex digits of the SHA-256 of the whole value: two
 * values that share their first `max` characters stay two series (no silent merge), and
 * the same value always truncates the same way. Values within the limit are unchanged.
 */
export function truncateLabelValue(value: string, max: number): string {
  if (value.length <= max) return value; // UTF-16 units bound the code points
  const points = Array.from(value);
  if (points.length <= max) return value;
  const digest = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 12);
  return `${points.slice(0, max).join('')}…(truncated ${digest})`;
}

/** What an operator may change about the families (docs/metrics.md); all optional. */
export interface MetricOptions {
  /** Per family name: the labels kept, of the family's labels (and branch_kind when added). */
  labels?: Readonly<Record<string, readonly string[]>>;
  /** Per histogram family name: its bucket bounds (seconds, increasing). */
  buckets?: Readonly<Record<string, readonly number[]>>;
  /** Adds `branch_kind` (`default` / `other`) to the run and job families. */
  branchKind?: boolean;
  /** Runner pools: the `labels` label as a pool name (first-match), and the pools of demand. */
  pools?: readonly PoolRule[];
  /** How `pools` reads (PoolMode); `first-match` when absent. */
  poolMode?: PoolMode;
  /** Repositories (`owner/name` globs) whose deliveries are processed at all. */
  repositories?: { include?: readonly string[]; exclude?: readonly string[] };
  /** Label values longer than this are truncated (DEFAULT_LABEL_VALUE_MAX_LENGTH). */
  labelValueMaxLength?: number;
  /** Label sets admitted per partition and entity kind (DEFAULT_MAX_LABEL_SETS). */
  maxLabelSets?: Partial<Record<LabelSetKind, number>>;
}

/** A glob (`*`: any run of characters but `/`, `?`: one) as a case-insensitive test. */
export function globTest(pattern: string): (value: string) => boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`, 'i');
  return (value) => regex.test(value);
}

const SERIES_KEY_MEMO = 100_000;

/** A node of seriesKey's memo: the next label's values, or (after the last label) the key. */
type SeriesKeyTree = Map<string | typeof SERIES_KEY_LEAF, SeriesKeyTree | string>;
const SERIES_KEY_LEAF = Symbol('series key');

/**
 * The catalogue as configured. `seriesLabels` and `seriesKey` take an entity's raw
 * values (runs-on labels sorted and comma-joined, branch kind, ...) and apply the
 * configuration exactly once; what they return is stored and served as it is.
 */
export class MetricCatalogue {
  readonly families: readonly MetricFamily[];
  private readonly byName: ReadonlyMap<string, MetricFamily>;
  private readonly pools: ReadonlyArray<{ pool: string; tests: Array<(label: string) => boolean> }>;
  private readonly runnerPools: ReadonlyArray<{ pool: string; carries: ReadonlySet<string> }>;
  readonly poolMode: PoolMode;
  private readonly include: Array<(repository: string) => boolean>;
  private readonly exclude: Array<(repository: string) => boolean>;
  /**
   * seriesKey's memo: per family, a tree of its raw label values in order (a node per
   * value list's prefix), whose last nodes hold the keys; `seriesKeyNodes` nodes in all.
   */
  private seriesKeys = new Map<string, SeriesKeyTree>();
  private seriesKeyNodes = 0;
  readonly labelValueMaxLength: number;
  readonly maxLabelSets: Readonly<Record<LabelSetKind, number>>;

  constructor(readonly options: MetricOptions = {}) {
    this.labelValueMaxLength = options.labelValueMaxLength ?? DEFAULT_LABEL_VALUE_MAX_LENGTH;
    this.maxLabelSets = { ...DEFAULT_MAX_LABEL_SETS, ...options.maxLabelSets };
    this.families = AGGREGATE_FAMILIES.map((family) => {
      const available = [...family.labels, ...(options.branchKind ? (family.optional ?? []) : [])];
      const kept = options.labels?.[family.name];
      const buckets = options.buckets?.[family.name] ?? family.buckets;
      return {
        ...family,
        labels: kept ? available.filter((label) => kept.includes(label)) : available,
        ...(buckets ? { buckets } : {}),
      };
    });
    this.byName = new Map(this.families.map((f) => [f.name, f]));
    this.poolMode = options.poolMode ?? 'first-match';
    const firstMatch = this.poolMode === 'first-match';
    this.pools = (firstMatch ? (options.pools ?? []) : []).map((rule) => ({
      pool: rule.pool,
      tests: rule.patterns.map(globTest),
    }));
    this.runnerPools = (firstMatch ? [] : (options.pools ?? [])).map((rule) => ({
      pool: rule.pool,
      carries: new Set(rule.patterns.map((label) => label.toLowerCase())),
    }));
    this.include = (options.repositories?.include ?? []).map(globTest);
    this.exclude = (options.repositories?.exclude ?? []).map(globTest);
  }

  private family(name: AggregateName): MetricFamily {
    const family = this.byName.get(name);
    if (!family) throw new Error(`no metric family ${name}`);
    return family;
  }

  /** Label names of a family's series, in order. */
  labelsOf(name: AggregateName): readonly string[] {
    return this.family(name).labels;
  }

  bucketsOf(name: HistogramName): readonly number[] {
    return this.family(name).buckets!;
  }

  /** Whether deliveries of this repository are processed (before any state: others cost nothing). */
  admits(repository: string): boolean {
    if (this.include.length > 0 && !this.include.some((test) => test(repository))) return false;
    return !this.exclude.some((test) => test(repository));
  }

  /** The runs-on labels (sorted, comma-joined) as the `labels` label shows them: a pool, or as they are. */
  poolOf(labels: string): string {
    if (this.pools.length === 0 || labels === '') return labels;
    const list = labels.split(',');
    return this.pools.find((rule) => rule.tests.some((test) => list.some(test)))?.pool ?? labels;
  }

  /** The configured pool names, in configuration order. */
  get poolNames(): string[] {
    return (this.options.pools ?? []).map((rule) => rule.pool);
  }

  /**
   * The pools a queued job is demand for (github_actions_pool_queued_jobs), from its raw
   * runs-on labels (sorted, comma-joined), runner group and cap decision:
   * - no labels (`runs-on: {group: X}`): `group:<runner group>` when the payload names the
   *   group, else UNLABELLED_POOL; never dropped;
   * - `first-match` mode: the one value its `labels` label shows (its pool, or its labels);
   * - `runner-labels` mode: every configured pool whose runners carry all of its labels
   *   (case-insensitive), in configuration order, else UNMATCHED_POOL.
   * A job whose label set overflowed the caps is `(other)`, except in `runner-labels` mode
   * for labelled jobs, whose pools are bounded by the configuration.
   */
  demandPoolsOf(job: { labels: string; runnerGroup: string; overflow?: boolean }): string[] {
    const overflow = job.overflow ?? false;
    if (job.labels === '') {
      if (overflow) return [OVERFLOW_VALUE];
      return [job.runnerGroup === '' ? UNLABELLED_POOL : `${GROUP_POOL_PREFIX}${job.runnerGroup}`];
    }
    if (this.poolMode === 'first-match') return [overflow ? OVERFLOW_VALUE : this.poolOf(job.labels)];
    const wanted = job.labels.split(',').map((label) => label.toLowerCase());
    const pools = this.runnerPools
      .filter((rule) => wanted.every((label) => rule.carries.has(label)))
      .map((rule) => rule.pool);
    return pools.length > 0 ? pools : [UNMATCHED_POOL];
  }

  /** A raw value as a series shows it: runs-on labels as their pool, then truncated. */
  servedValue(label: string, raw: string): string {
    return truncateLabelValue(label === 'labels' ? this.poolOf(raw) : raw, this.labelValueMaxLength);
  }

  /** Whether a raw value is served truncated. */
  isTruncated(label: string, raw: string): boolean {
    return this.servedValue(label, raw) !== (label === 'labels' ? this.poolOf(raw) : raw);
  }

  /**
   * A series' labels from an entity's raw values: exactly the kept names, in order ('' when
   * missing), each as served; OVERFLOW_VALUE (a capped label set) is served as it is.
   */
  seriesLabels(name: AggregateName, values: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const label of this.labelsOf(name)) {
      const value = values[label] ?? '';
      out[label] = value === OVERFLOW_VALUE ? value : this.servedValue(label, value);
    }
    return out;
  }

  /**
   * A stable key for one series: the family name and its label values in order. Part
   * of the aggregates changelog key (`<partition>|<series key>`).
   */
  seriesKey(name: AggregateName, values: Readonly<Record<string, string>>): string {
    // Memoised by the raw values it reads: a processor asks for the same few series
    // about ten times per delivery, a recount several times per run and job. Looked up
    // one value at a time, no string made to look it up. Series are bounded, so the
    // memo is too; it starts over past SERIES_KEY_MEMO nodes (raw values that a pool
    // folds can outnumber the series).
    if (this.seriesKeyNodes >= SERIES_KEY_MEMO) {
      this.seriesKeys = new Map();
      this.seriesKeyNodes = 0;
    }
    let node = this.seriesKeys.get(name);
    if (node === undefined) {
      node = new Map();
      this.seriesKeys.set(name, node);
      this.seriesKeyNodes += 1;
    }
    for (const label of this.labelsOf(name)) {
      const value = values[label] ?? '';
      let next = node.get(value);
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
        this.seriesKeyNodes += 1;
      }
      node = next as SeriesKeyTree;
    }
    // The values' node holds the key under a symbol, which no label value (a string) is.
    const known = node.get(SERIES_KEY_LEAF);
    if (known !== undefined) return known as string;
    const key = `${name}${JSON.stringify(Object.values(this.seriesLabels(name, values)))}`;
    node.set(SERIES_KEY_LEAF, key);
    return key;
  }
}

/** The catalogue with nothing configured: every family as docs/design.md defines it. */
export const DEFAULT_CATALOGUE = new MetricCatalogue();
