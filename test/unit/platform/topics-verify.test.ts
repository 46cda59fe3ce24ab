// `topics verify` without Kafka: the plan itself passes; each way a platform team can
// get a topic wrong is one problem with its fix, fatal where state or counts would break.
import { describe, expect, it } from 'vitest';
import { topicNames, topicPlan } from '../../../platform/topics.js';
import { type ActualTopic, verifyTopics } from '../../../platform/topics-verify.js';

const plan = topicPlan({ prefix: 'p.', partitions: 6, replicationFactor: 3 });
const names = topicNames('p.');
const asPlanned = (): Map<string, ActualTopic> =>
  new Map(
    plan.map((s) => [
      s.name,
      { name: s.name, partitions: 6, replicas: 3, config: new Map(Object.entries(s.config)) },
    ]),
  );
const changed = (name: string, change: Partial<ActualTopic> & { set?: Record<string, string> }) => {
  const actual = asPlanned();
  const topic = actual.get(name)!;
  actual.set(name, {
    ...topic,
    ...change,
    config: new Map([...topic.config, ...Object.entries(change.set ?? {})]),
  });
  return actual;
};
const summary = (actual: Map<string, ActualTopic>) =>
  verifyTopics(plan, actual).map(
    (p) => `${p.fatal ? 'error' : 'warning'} ${p.topic}: ${p.problem.split(':')[0]}`,
  );

describe('topics verify', () => {
  it('the plan as created passes', () => {
    expect(verifyTopics(plan, asPlanned())).toEqual([]);
  });

  it('each problem once, fatal where it corrupts state', () => {
    const missing = asPlanned();
    missing.delete(names.jobsChangelog);
    expect(summary(missing)).toEqual([`error ${names.jobsChangelog}: does not exist`]);
    expect(summary(changed(names.aggregatesChangelog, { partitions: 4 }))).toEqual([
      `error ${names.aggregatesChangelog}: has 4 partitions, p.deliveries has 6`,
    ]);
    expect(summary(changed(names.runsChangelog, { set: { 'cleanup.policy': 'compact,delete' } }))).toEqual([
      `error ${names.runsChangelog}: cleanup.policy=compact,delete, not compact`,
    ]);
    expect(summary(changed(names.deliveries, { set: { 'cleanup.policy': 'compact' } }))).toEqual([
      `error ${names.deliveries}: cleanup.policy=compact`,
    ]);
    expect(summary(changed(names.dedupeChangelog, { set: { 'retention.ms': String(86_400_000) } }))).toEqual([
      `error ${names.dedupeChangelog}: retention.ms=86400000, less than the planned 345600000`,
    ]);
    expect(summary(changed(names.jobsChangelog, { set: { 'delete.retention.ms': '60000' } }))).toEqual([
      `error ${names.jobsChangelog}: delete.retention.ms=60000, less than the planned 86400000`,
    ]);
    expect(
      summary(
        changed(names.deliveries, {
          set: {
            'retention.ms': String(86_400_000),
            'max.message.bytes': '1048588',
            'min.insync.replicas': '1',
          },
        }),
      ),
    ).toEqual([
      `warning ${names.deliveries}: retention.ms=86400000, less than the planned 604800000`,
      `warning ${names.deliveries}: max.message.bytes=1048588, less than the planned 27262976`,
      `warning ${names.deliveries}: min.insync.replicas=1 with 3 replicas`,
    ]);
    expect(
      summary(changed(names.dedupeChangelog, { set: { 'retention.ms': '-1', 'cleanup.policy': 'compact' } })),
    ).toEqual([]);
  });
});
