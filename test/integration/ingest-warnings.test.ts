// What ingest says at start about its webhook secret: one warn line for a secret
// shorter than GitHub's recommendation, naming the variable, never the value.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readIngestConfig, startIngest } from '../../ingest/main.js';
import type { RoleHandle } from '../../platform/role.js';
import { brokers, createTestTopics } from '../support/kafka.js';

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('ingest start', () => {
  let handle: RoleHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  for (const [secret, warned] of [
    ['short-but-real', 1],
    ['4f0c2b8e9d7a61f35c0e8b2a9d4f7c1e', 0],
  ] as const) {
    it(`warns ${warned} time(s) for a ${secret.length}-character secret`, async () => {
      const topics = await createTestTopics(1);
      const { logger, lines } = capture();
      const config = readIngestConfig({
        KAFKA_BROKERS: brokers().join(','),
        RUNSTREAM_TOPIC_PREFIX: topics.prefix,
        RUNSTREAM_WEBHOOK_SECRET: secret,
        RUNSTREAM_INGEST_PORT: '0',
        RUNSTREAM_HOST: '127.0.0.1',
      });
      handle = await startIngest(config, logger);
      const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('RUNSTREAM_WEBHOOK_SECRET'));
      expect(warnings).toHaveLength(warned);
      expect(JSON.stringify(lines)).not.toContain(secret);
      if (warned)
        expect(warnings[0]!.msg).toMatch(/^RUNSTREAM_WEBHOOK_SECRET: the secret is shorter than 32/);
    });
  }
});
