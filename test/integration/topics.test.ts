// `topics create` against a real broker: idempotent, and it reports (never alters)
// the settings of topics that already exist with other values.
import { describe, expect, it } from 'vitest';
import { readCommonConfig } from '../../platform/config.js';
import { topicPlanFor } from '../../platform/topics.js';
import { ensureTopics } from '../../platform/topics-admin.js';
import { createTestTopics, testKafka, testLogger } from '../support/kafka.js';

describe('topics create', () => {
  it('is idempotent and reports the planned settings an existing topic lacks, leaving them', async () => {
    const topics = await createTestTopics(2);
    const planFor = (env: Record<string, string>) =>
      topicPlanFor(
        readCommonConfig({ RUNSTREAM_TOPIC_PREFIX: topics.prefix, RUNSTREAM_PARTITIONS: '2', ...env }),
      );

    const same = await ensureTopics(testKafka(), planFor({}), 1, testLogger);
    expect(same.map((a) => a.kind)).toEqual(['exists', 'exists', 'exists', 'exists', 'exists']);
    expect(same.flatMap((a) => (a.kind === 'exists' ? a.differences : []))).toEqual([]);

    const longer = await ensureTopics(
      testKafka(),
      planFor({ RUNSTREAM_DELIVERIES_RETENTION: '30d' }),
      1,
      testLogger,
    );
    const deliveries = longer.find((a) => a.spec.name === topics.names.deliveries);
    expect(deliveries?.kind === 'exists' && deliveries.differences).toEqual([
      { name: 'retention.ms', actual: String(7 * 86_400_000), planned: String(30 * 86_400_000) },
    ]);

    // Nothing was altered: the original plan still matches.
    const again = await ensureTopics(testKafka(), planFor({}), 1, testLogger);
    expect(again.flatMap((a) => (a.kind === 'exists' ? a.differences : []))).toEqual([]);
  });
});
