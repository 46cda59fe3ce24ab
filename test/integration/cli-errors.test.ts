// A role that cannot take its port stops with one line naming the setting to change,
// after a real start against the broker (start check, Kafka client, runtime).
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.js';
import { brokers, createTestTopics } from '../support/kafka.js';

describe('a role whose port is taken', () => {
  it('exits 2 with one line naming RUNSTREAM_EXPORTER_PORT', async () => {
    const topics = await createTestTopics(2);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const exporter = startCli(['exporter'], {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '2',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_EXPORTER_PORT: String(port),
      RUNSTREAM_LOG_LEVEL: 'silent',
    });
    try {
      expect(await exporter.exited()).toBe(2);
      expect(exporter.log()).toBe(
        `runstream: configuration error: RUNSTREAM_EXPORTER_PORT: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`,
      );
    } finally {
      await exporter.stop();
      taken.close();
    }
  });
});
