// Topic names and settings (docs/design.md "Topics"). Every changelog has exactly as many
// partitions as deliveries; records derived from input partition p go to partition p.
import type { CommonConfig } from './config.js';
import { alignedTable } from './table.js';

export interface TopicNames {
  deliveries: string;
  dedupeChangelog: string;
  runsChangelog: string;
  jobsChangelog: string;
  aggregatesChangelog: string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    deliveries: `${prefix}deliveries`,
    dedupeChangelog: `${prefix}processor-dedupe-changelog`,
    runsChangelog: `${prefix}processor-runs-changelog`,
    jobsChangelog: `${prefix}processor-jobs-changelog`,
    aggregatesChangelog: `${prefix}processor-aggregates-changelog`,
  };
}

export interface TopicSpec {
  name: string;
  partitions: number;
  config: Record<string, string>;
  purpose: string;
}

const day = 86_400_000;

export interface TopicPlanOptions {
  prefix: string;
  partitions: number;
  deliveriesRetentionMs?: number;
  /** Delivery ids remembered this long; the dedupe changelog keeps markers at least as long. */
  dedupeWindowMs?: number;
  /** With 3 or more replicas, acks=all waits for 2 of them (min.insync.replicas=2). */
  replicationFactor?: number;
}

/** The plan for a role's configuration: the one used by `topics create|plan` and `all`. */
export function topicPlanFor(config: CommonConfig): TopicSpec[] {
  return topicPlan({
    prefix: config.topicPrefix,
    partitions: config.partitions,
    deliveriesRetentionMs: config.deliveriesRetentionMs,
    dedupeWindowMs: config.dedupeWindowMs,
    replicationFactor: config.replicationFactor,
  });
}

export function topicPlan(options: TopicPlanOptions): TopicSpec[] {
  const names = topicNames(options.prefix);
  const p = options.partitions;
  const durability: Record<string, string> =
    (options.replicationFactor ?? -1) >= 3 ? { 'min.insync.replicas': '2' } : {};
  // Tombstones stay this long; processors trust a local checkpoint only if younger
  // (processor/checkpoint.ts), so keep it explicit rather than the broker's.
  const tombstones = { 'delete.retention.ms': String(day) };
  const specs: TopicSpec[] = [
    {
      name: names.deliveries,
      partitions: p,
      config: {
        'cleanup.policy': 'delete',
        'retention.ms': String(options.deliveriesRetentionMs ?? 7 * day),
        // GitHub caps payloads at 25 MB: every delivery ingest accepts must fit.
        'max.message.bytes': String(26 * 1024 * 1024),
      },
      purpose: 'webhook deliveries, key = run id',
    },
    {
      name: names.dedupeChangelog,
      partitions: p,
      // GitHub redelivers within 3 days; 4 days of markers absorb every redelivery.
      // A longer window needs the markers kept as long, or a restore forgets them.
      config: {
        'cleanup.policy': 'compact,delete',
        'retention.ms': String(Math.max(4 * day, options.dedupeWindowMs ?? 0)),
        ...tombstones,
      },
      purpose: 'dedupe markers, key = delivery id',
    },
    {
      name: names.runsChangelog,
      partitions: p,
      config: { 'cleanup.policy': 'compact', ...tombstones },
      purpose: 'run states, key = run_id:run_attempt',
    },
    {
      name: names.jobsChangelog,
      partitions: p,
      config: { 'cleanup.policy': 'compact', ...tombstones },
      purpose: 'job states, key = job id',
    },
    {
      name: names.aggregatesChangelog,
      partitions: p,
      config: {
        'cleanup.policy': 'compact',
        ...tombstones,
        // Every exporter reads this changelog whole at start: segments roll hourly and
        // are compacted once a tenth is dirty, so it stays near one record per series
        // and partition instead of growing with every update (the broker defaults roll
        // a segment after 7 days or 1 GB, and compact at half dirty).
        'segment.ms': String(3_600_000),
        'min.cleanable.dirty.ratio': '0.1',
      },
      purpose: 'counters, histograms and gauges per partition, key = partition|series key',
    },
  ];
  return specs.map((spec) => ({ ...spec, config: { ...spec.config, ...durability } }));
}

/** The plan as an aligned text table, for platforms where runstream may not create topics. */
export function formatTopicPlan(specs: TopicSpec[], replicationFactor: number): string {
  const rows = specs.map((s) => [
    s.name,
    String(s.partitions),
    replicationFactor > 0 ? String(replicationFactor) : 'broker default',
    Object.entries(s.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    s.purpose,
  ]);
  return alignedTable(['topic', 'partitions', 'replication', 'config', 'purpose'], rows);
}

export interface ExistingTopic {
  name: string;
  partitions: number;
}

export interface ConfigDifference {
  name: string;
  actual: string | undefined;
  planned: string;
}

export type TopicAction =
  | { kind: 'create'; spec: TopicSpec }
  /** differences: the topic's settings that are not the plan's (left as they are). */
  | { kind: 'exists'; spec: TopicSpec; differences: ConfigDifference[] };

/** Planned settings an existing topic does not have; `topics create` reports, never alters. */
export function configDifferences(
  planned: Readonly<Record<string, string>>,
  actual: ReadonlyMap<string, string>,
): ConfigDifference[] {
  return Object.entries(planned)
    .filter(([name, value]) => actual.get(name) !== value)
    .map(([name, value]) => ({ name, actual: actual.get(name), planned: value }));
}

export function describeDifferences(differences: readonly ConfigDifference[]): string {
  return differences.map((d) => `${d.name}=${d.actual ?? '(unset)'} (planned ${d.planned})`).join(', ');
}

/**
 * Decides what `topics create` must do. A topic that exists with another partition
 * count is an error: changelog partition p must hold the state of input partition p.
 */
export function reconcileTopics(plan: TopicSpec[], existing: ExistingTopic[]): TopicAction[] {
  const byName = new Map(existing.map((t) => [t.name, t]));
  return plan.map((spec) => {
    const found = byName.get(spec.name);
    if (!found) return { kind: 'create', spec };
    if (found.partitions !== spec.partitions) {
      throw new Error(
        `topic ${spec.name} exists with ${found.partitions} partitions, expected ${spec.partitions}: ` +
          'every changelog must have as many partitions as deliveries (set RUNSTREAM_PARTITIONS to match)',
      );
    }
    return { kind: 'exists', spec, differences: [] };
  });
}
