// `runstream topics verify`: topics someone else created, checked against the plan
// (platform/topics.ts). Pure: the Kafka side is platform/topics-inspect.ts. Each
// problem is one line with its fix; a fatal one would corrupt state or counts, and
// processors and exporters refuse to start on it.
import type { TopicSpec } from './topics.js';

/** What a topic is on the cluster: partitions, replicas and its effective settings. */
export interface ActualTopic {
  name: string;
  partitions: number;
  replicas: number;
  config: ReadonlyMap<string, string>;
}

export interface TopicProblem {
  topic: string;
  fatal: boolean;
  problem: string;
  fix: string;
}

/** The settings verify reads (describeConfigs). */
export const VERIFIED_SETTINGS = [
  'cleanup.policy',
  'retention.ms',
  'delete.retention.ms',
  'min.insync.replicas',
  'max.message.bytes',
] as const;

const policies = (t: ActualTopic) => new Set((t.config.get('cleanup.policy') ?? 'delete').split(','));
const numberOf = (t: ActualTopic, name: string) => Number(t.config.get(name) ?? Number.NaN);
const alter = (topic: string, setting: string) =>
  `kafka-configs --bootstrap-server $BROKERS --command-config admin.properties --alter --entity-type topics --entity-name ${topic} --add-config ${setting}`;

/** Keeps records at least `ms` (retention.ms -1 keeps them forever). */
const keeps = (t: ActualTopic, setting: string, ms: number) => {
  const value = numberOf(t, setting);
  return value < 0 || value >= ms;
};

function checkTopic(spec: TopicSpec, topic: ActualTopic, reference: ActualTopic): TopicProblem[] {
  const problems: TopicProblem[] = [];
  const add = (fatal: boolean, problem: string, fix: string) =>
    problems.push({ topic: spec.name, fatal, problem, fix });
  const planned = (name: string) => spec.config[name];
  if (topic.name !== reference.name && topic.partitions !== reference.partitions) {
    add(
      true,
      `has ${topic.partitions} partitions, ${reference.name} has ${reference.partitions}: changelog partition p holds the state of deliveries partition p`,
      `recreate it with ${reference.partitions} partitions (then rebuild state: runstream processor --reprocess)`,
    );
  }
  const policy = policies(topic);
  const plannedPolicy = planned('cleanup.policy') ?? 'delete';
  if (plannedPolicy === 'delete' && policy.has('compact')) {
    add(
      true,
      `cleanup.policy=${[...policy].join(',')}: compaction drops deliveries of the same run`,
      alter(spec.name, 'cleanup.policy=delete'),
    );
  }
  if (plannedPolicy === 'compact' && (!policy.has('compact') || policy.has('delete'))) {
    add(
      true,
      `cleanup.policy=${[...policy].join(',')}, not compact: state older than the retention would be lost`,
      alter(spec.name, 'cleanup.policy=compact'),
    );
  }
  if (plannedPolicy === 'compact,delete' && !policy.has('compact')) {
    add(
      false,
      `cleanup.policy=${[...policy].join(',')}: superseded markers are kept, restores read them all`,
      alter(spec.name, 'cleanup.policy=[compact,delete]'),
    );
  }
  const retention = planned('retention.ms');
  if (retention !== undefined && policy.has('delete') && !keeps(topic, 'retention.ms', Number(retention))) {
    // The dedupe changelog forgetting a delivery id counts its redelivery twice.
    const fatal = plannedPolicy !== 'delete';
    add(
      fatal,
      `retention.ms=${topic.config.get('retention.ms')}, less than the planned ${retention}${fatal ? ': a restore forgets delivery ids GitHub may still redeliver' : ': reprocessing reaches back less far'}`,
      alter(spec.name, `retention.ms=${retention}`),
    );
  }
  const tombstones = planned('delete.retention.ms');
  if (
    tombstones !== undefined &&
    policy.has('compact') &&
    !keeps(topic, 'delete.retention.ms', Number(tombstones))
  ) {
    add(
      true,
      `delete.retention.ms=${topic.config.get('delete.retention.ms')}, less than the planned ${tombstones}: a processor restoring from its checkpoint could miss a tombstone and revive a deleted entity`,
      alter(spec.name, `delete.retention.ms=${tombstones}`),
    );
  }
  const maxBytes = planned('max.message.bytes');
  if (maxBytes !== undefined && numberOf(topic, 'max.message.bytes') < Number(maxBytes)) {
    add(
      false,
      `max.message.bytes=${topic.config.get('max.message.bytes')}, less than the planned ${maxBytes}: large deliveries (GitHub sends up to 25 MB) are refused, ingest answers 503`,
      alter(spec.name, `max.message.bytes=${maxBytes}`),
    );
  }
  if (topic.replicas >= 3 && numberOf(topic, 'min.insync.replicas') < 2) {
    add(
      false,
      `min.insync.replicas=${topic.config.get('min.insync.replicas')} with ${topic.replicas} replicas: losing one broker can lose acknowledged writes`,
      alter(spec.name, 'min.insync.replicas=2'),
    );
  }
  return problems;
}

/**
 * Every problem of the existing topics against the plan. Partition counts are compared
 * with the first planned topic that exists (deliveries, in the full plan): the number
 * is the operator's, but it must be one number.
 */
export function verifyTopics(
  plan: readonly TopicSpec[],
  actual: ReadonlyMap<string, ActualTopic>,
): TopicProblem[] {
  const reference = plan.map((s) => actual.get(s.name)).find((t) => t !== undefined);
  return plan.flatMap((spec) => {
    const topic = actual.get(spec.name);
    if (!topic || !reference) {
      return [
        {
          topic: spec.name,
          fatal: true,
          problem: 'does not exist',
          fix: 'create it as `runstream topics plan` prints (or `runstream topics create`)',
        },
      ];
    }
    return checkTopic(spec, topic, reference);
  });
}

export function formatProblem(p: TopicProblem): string {
  return `${p.fatal ? 'error' : 'warning'}: topic ${p.topic} ${p.problem}. Fix: ${p.fix}`;
}
