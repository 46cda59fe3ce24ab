// kafkajs' log as an operator reads it: transient, retried conditions are debug; a
// refusal stays visible; the bounded-retries warning becomes one note per process.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../../platform/kafka/index.js';
import { EOS_NOTE, EOS_WARNING, operatorLevel } from '../../../../platform/kafka/log.js';
import type { Logger } from '../../../../platform/log.js';

const ERROR = 1;
const WARN = 2;
const INFO = 4;

describe('operatorLevel', () => {
  it('makes retried answers and attempts inside the retrier debug', () => {
    // The three conditions a clean start logged at error, as kafkajs' connection logs them.
    for (const error of [
      'This server is not the leader for that topic-partition',
      'The group coordinator is not available',
      'This is not the correct coordinator for this group',
    ]) {
      expect(operatorLevel(ERROR, 'Response ListOffsets(key: 2, version: 3)', { error })).toBe('debug');
    }
    expect(
      operatorLevel(ERROR, 'Failed to send messages: Connection error', { retryCount: 1, retryTime: 300 }),
    ).toBe('debug');
    // A rebalance answer is not retriable for Kafka, but the consumer rejoins by itself.
    expect(
      operatorLevel(ERROR, 'Response SyncGroup(key: 14, version: 3)', {
        error: 'The group is rebalancing, so a rejoin is needed',
      }),
    ).toBe('debug');
    expect(operatorLevel(ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: ...', { groupId: 'g' })).toBe(
      'debug',
    );
  });

  it('keeps a refusal visible as a warning and anything unknown as an error', () => {
    expect(
      operatorLevel(ERROR, 'Response FindCoordinator(key: 10, version: 2)', {
        error: 'Not authorized to access group: Group authorization failed',
      }),
    ).toBe('warn');
    expect(operatorLevel(ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9', {})).toBe('warn');
    expect(operatorLevel(ERROR, 'Error when calling eachBatch', { error: 'boom' })).toBe('error');
    expect(operatorLevel(WARN, 'something kafkajs warns about', {})).toBe('warn');
    expect(operatorLevel(INFO, 'Starting', {})).toBe('debug');
    expect(operatorLevel(WARN, EOS_WARNING, {})).toBe('debug');
  });
});

function capture(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines: () => lines };
}

describe('createKafka', () => {
  it('explains bounded producer retries once and warns about neither them nor the partitioner', async () => {
    const { logger, lines } = capture();
    const kafka = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'log-test', logger });
    // Built like ingest's publisher and a processor task's producer: no broker is needed.
    kafka.recordProducer({ idempotent: true, retry: { retries: 8 } });
    kafka.transactionalProducer({ transactionalId: 't-0', retry: { retries: 15 } });
    kafka.transactionalProducer({ transactionalId: 't-1', retry: { retries: 15 } });
    await new Promise((resolve) => setImmediate(resolve));
    const seen = lines();
    expect(seen.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(seen.filter((l) => l.msg === EOS_NOTE)).toHaveLength(1);
    // Still there for whoever debugs kafkajs itself.
    expect(seen.filter((l) => l.msg === EOS_WARNING && l.level === 20)).toHaveLength(3);
    expect(seen.some((l) => String(l.msg).includes('partitioner'))).toBe(false);
  });
});
