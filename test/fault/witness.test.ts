// What a scenario's witness reads from the processors' logs, without a cluster.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeUncertain, processorLogs, uncertainTransactionRequests } from './witness.js';

// The task's warn line as pino writes it (processor/task.ts), and its neighbours.
const uncertainEndTxn = JSON.stringify({
  level: 40,
  time: 1,
  role: 'processor',
  partition: 3,
  transactionalId: 'g-p.deliveries-3',
  request: 'EndTxn (commit)',
  producerEpoch: 4,
  uncertain: true,
  outcome: 'unknown',
  nextOffset: '120',
  msg: 'transaction outcome unknown; reopening the partition to learn it from Kafka',
});
const definiteAbort = JSON.stringify({
  level: 40,
  transactionalId: 'g-p.deliveries-5',
  request: 'AddPartitionsToTxn or Produce',
  uncertain: false,
  outcome: 'aborted',
  msg: 'transaction aborted; reopening the partition to restore from Kafka',
});
const other = JSON.stringify({ level: 30, uncertain: true, msg: 'no request named' });

describe('uncertainTransactionRequests', () => {
  it('finds the warn lines of uncertain requests only', () => {
    const log = ['==== start p1 (processor)', other, definiteAbort, uncertainEndTxn, '{not json'].join('\n');
    expect(uncertainTransactionRequests('p1', log)).toEqual([
      {
        process: 'p1',
        transactionalId: 'g-p.deliveries-3',
        request: 'EndTxn (commit)',
        outcome: 'unknown',
        producerEpoch: 4,
      },
    ]);
  });

  it('finds nothing in a log without one', () => {
    expect(uncertainTransactionRequests('p1', [other, definiteAbort].join('\n'))).toEqual([]);
  });

  it('describes each in a line', () => {
    expect(describeUncertain(uncertainTransactionRequests('p2', uncertainEndTxn))).toEqual([
      'p2: EndTxn (commit) of g-p.deliveries-3 (epoch 4), outcome unknown',
    ]);
  });
});

describe('processorLogs', () => {
  it("reads the processors' logs of a run directory, not the other roles'", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runstream-witness-'));
    try {
      await writeFile(join(dir, 'p1.log'), 'one');
      await writeFile(join(dir, 'p12.log'), 'twelve');
      await writeFile(join(dir, 'i1.log'), 'ingest');
      await writeFile(join(dir, 'e1.log'), 'exporter');
      expect([...(await processorLogs(dir))]).toEqual([
        ['p1', 'one'],
        ['p12', 'twelve'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
