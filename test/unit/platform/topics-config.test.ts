import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  KAFKA_BROKERS,
  readCommonConfig,
  readWebhookSecrets,
} from '../../../platform/config.js';
import { parseDurationMs } from '../../../platform/setting.js';
import { formatTopicPlan, reconcileTopics, topicPlan, topicPlanFor } from '../../../platform/topics.js';

describe('topic plan', () => {
  const plan = topicPlan({ prefix: 'rs.', partitions: 6 });

  it('has every DESIGN topic with matching partitions and cleanup policies', () => {
    expect(plan.map((t) => [t.name, t.partitions, t.config['cleanup.policy']])).toEqual([
      ['rs.deliveries', 6, 'delete'],
      ['rs.processor-dedupe-changelog', 6, 'compact,delete'],
      ['rs.processor-runs-changelog', 6, 'compact'],
      ['rs.processor-jobs-changelog', 6, 'compact'],
      ['rs.processor-aggregates-changelog', 6, 'compact'],
    ]);
    expect(plan[0]!.config['retention.ms']).toBe(String(7 * 86_400_000));
    expect(Number(plan[0]!.config['max.message.bytes'])).toBeGreaterThan(25 * 1024 * 1024);
    expect(Number(plan[1]!.config['retention.ms'])).toBeGreaterThanOrEqual(4 * 86_400_000);
    expect(formatTopicPlan(plan, 3)).toContain('rs.processor-runs-changelog');
  });

  it('follows the configured retention, dedupe window and replication', () => {
    const config = readCommonConfig({
      RUNSTREAM_DELIVERIES_RETENTION: '30d',
      RUNSTREAM_DEDUPE_WINDOW: '10d',
      RUNSTREAM_REPLICATION_FACTOR: '3',
    });
    const [deliveries, dedupe, ...changelogs] = topicPlanFor(config);
    expect(deliveries!.config['retention.ms']).toBe(String(30 * 86_400_000));
    expect(dedupe!.config['retention.ms']).toBe(String(10 * 86_400_000));
    for (const spec of [deliveries!, dedupe!, ...changelogs]) {
      expect(spec.config['min.insync.replicas']).toBe('2');
    }
    // A short window never shortens the markers below GitHub's redelivery horizon.
    const short = topicPlanFor(readCommonConfig({ RUNSTREAM_DEDUPE_WINDOW: '1h' }));
    expect(short[1]!.config['retention.ms']).toBe(String(4 * 86_400_000));
    expect(short[0]!.config['min.insync.replicas']).toBeUndefined();
  });

  it('creates what is missing, accepts what matches, and refuses a partition mismatch', () => {
    const actions = reconcileTopics(plan, [{ name: 'rs.deliveries', partitions: 6 }]);
    expect(actions.map((a) => a.kind)).toEqual(['exists', 'create', 'create', 'create', 'create']);
    expect(() => reconcileTopics(plan, [{ name: 'rs.processor-jobs-changelog', partitions: 12 }])).toThrow(
      /rs.processor-jobs-changelog exists with 12 partitions, expected 6/,
    );
  });
});

describe('configuration', () => {
  it('fails with one line naming the variable', () => {
    expect(() => readCommonConfig({ RUNSTREAM_PARTITIONS: '0' })).toThrow(
      new ConfigError('RUNSTREAM_PARTITIONS', 'expected 1..10000, got 0'),
    );
    expect(() => KAFKA_BROKERS.read({ KAFKA_BROKERS: 'localhost' })).toThrow(/KAFKA_BROKERS/);
    expect(() => readCommonConfig({ RUNSTREAM_REPLICATION_FACTOR: '0' })).toThrow(
      /RUNSTREAM_REPLICATION_FACTOR/,
    );
    expect(() => readCommonConfig({ RUNSTREAM_DELIVERIES_RETENTION: 'forever' })).toThrow(
      /RUNSTREAM_DELIVERIES_RETENTION/,
    );
    expect(() => readCommonConfig({ RUNSTREAM_TOPIC_PREFIX: 'bad prefix' })).toThrow(
      /RUNSTREAM_TOPIC_PREFIX/,
    );
    expect(() => readWebhookSecrets({})).toThrow(/RUNSTREAM_WEBHOOK_SECRET/);
    expect(() => readWebhookSecrets({ RUNSTREAM_WEBHOOK_SECRET_FILE: '/nonexistent/secret' })).toThrow(
      /ENOENT/,
    );
  });

  it('reads defaults, secrets for rotation and durations', () => {
    expect(readCommonConfig({})).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      topicPrefix: 'runstream.',
      partitions: 12,
    });
    expect(readWebhookSecrets({ RUNSTREAM_WEBHOOK_SECRET: 'old, new' })).toEqual(['old', 'new']);
    expect(parseDurationMs('6h')).toBe(21_600_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('30')).toBe(30_000);
    expect(parseDurationMs('soon')).toBeUndefined();
  });
});
