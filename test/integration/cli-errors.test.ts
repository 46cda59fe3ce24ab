// Bad configuration found at start stops a role with one line naming the setting to change:
// a port taken (after a real start against the broker), the development secret off loopback.
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

describe('the development secret off loopback', () => {
  it('stops ingest with one line naming the setting, before any Kafka work', async () => {
    const ingest = startCli(['ingest'], {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_WEBHOOK_SECRET: 'dev-secret',
      RUNSTREAM_HOST: '',
      RUNSTREAM_LOG_LEVEL: 'silent',
    });
    try {
      expect(await ingest.exited()).toBe(2);
      expect(ingest.log()).toBe(
        'runstream: configuration error: RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback (RUNSTREAM_HOST is 0.0.0.0): set the secret GitHub signs with, or RUNSTREAM_HOST=127.0.0.1\n',
      );
    } finally {
      await ingest.stop();
    }
  });

  it('stops `all` given no secret but a non-loopback RUNSTREAM_HOST', async () => {
    const all = startCli(['all'], {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_WEBHOOK_SECRET: '',
      RUNSTREAM_HOST: '0.0.0.0',
      RUNSTREAM_LOG_LEVEL: 'silent',
    });
    try {
      expect(await all.exited()).toBe(2);
      expect(all.log()).toMatch(
        /^runstream: configuration error: RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback \(RUNSTREAM_HOST is 0\.0\.0\.0\)/,
      );
    } finally {
      await all.stop();
    }
  });
});
