// PartitionTask over the fake Kafka port and a real RocksDB store in a temporary
// directory (Kafka Streams' StreamTaskTest): its states, the checkpoint verdict applied
// (a tail or the whole changelogs), fenced versus failed transactions, an input gap,
// a close during a restore, and a delayed EndTxn that must neither lose nor double
// anything. The oracle is what the fake cluster committed, read back record by record,
// against the delivery ids the test published.
import { describe, expect, it } from 'vitest';
import { partitionsWithState } from '../../../processor/state-dirs.js';
import { TaskUnavailableError } from '../../../processor/task.js';
import { transactionalIdFor } from '../../../processor/transactions.js';
import { aggregateChangelogKey, changelogTopic, INPUT_POSITION_KEY } from '../../../schemas/changelog.js';
import {
  committedChangelogRecords,
  committedKeys,
  inputRecords,
  type Published,
  publishStream,
  type Shell,
  shell,
  task,
  WARN,
} from '../../support/shell.js';
import { useTempDir } from '../../support/temp-dir.js';

const INPUT_AT_0 = aggregateChangelogKey(0, INPUT_POSITION_KEY);
const dir = useTempDir('runstream-task-');
let dirs = 0;
const freshDir = () => dir(`state-${dirs++}`);

const idsOf = (published: readonly Published[], partition: number) =>
  published.filter((p) => p.partition === partition).map((p) => p.id);

const committedInput = (s: Shell, partition: number) =>
  s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, partition);

/** A shell with deliveries on partition 0, and its input records. */
function withInput(seed = 1) {
  const s = shell(freshDir());
  const published = publishStream(s, { seed, runs: 8 });
  const records = inputRecords(s, 0);
  expect(records.length).toBeGreaterThan(6);
  return { s, published, records, ids: idsOf(published, 0) };
}

describe('PartitionTask', () => {
  it('goes opening -> restoring -> running, and commits each chunk with its input offset', async () => {
    const { s, records, ids } = withInput();
    const t = task(s, 0);
    expect(t.state).toBe('opening');
    const stats = await t.ready;
    expect(t.state).toBe('running');
    expect(stats).toMatchObject({ mode: 'full', records: 0 });
    const half = Math.floor(records.length / 2);
    // A committed chunk says where its time went (the "chunk committed" debug line).
    const first = await t.process(records.slice(0, half));
    expect(first).toMatchObject({ kind: 'processed', nextOffset: BigInt(half) });
    const timings = first.kind === 'processed' ? first.timings : undefined;
    expect(Object.keys(timings ?? {}).sort()).toEqual(['applyMs', 'queuedMs', 'transactionMs', 'writeMs']);
    for (const ms of Object.values(timings ?? {})) expect(ms).toBeGreaterThanOrEqual(0);
    expect(committedKeys(s, 'dedupe', 0)).toEqual(ids.slice(0, half));
    expect(committedInput(s, 0)).toBe(BigInt(half));
    await t.process(records.slice(half));
    expect(committedKeys(s, 'dedupe', 0)).toEqual(ids);
    expect(committedInput(s, 0)).toBe(BigInt(records.length));
    // Every transaction carries the input position last in its aggregates.
    expect(committedKeys(s, 'aggregates', 0).filter((k) => k === INPUT_AT_0)).toHaveLength(2);
    await t.close();
    expect(t.state).toBe('closed');
    expect(s.kafka.cluster.journal).toContain(
      `transactional producer ${transactionalIdFor(s.config.groupId, s.topics.deliveries, 0)} disconnected`,
    );
  });

  it('reads its offsets only once the previous owner is fenced, and none when the fence fails', async () => {
    const { s } = withInput();
    const id = transactionalIdFor(s.config.groupId, s.topics.deliveries, 0);
    const requests: string[] = [];
    const { faults } = s.kafka.cluster;
    faults.inject('init', { kind: 'before', run: () => requests.push('fence') }, { subject: id });
    faults.inject('partitionOffsets', { kind: 'before', run: () => requests.push('ends') }, { times: 20 });
    faults.inject(
      'committedOffsets',
      { kind: 'before', run: () => requests.push('committed') },
      { times: 20 },
    );
    const t = task(s, 0);
    await t.ready;
    // Four changelogs and the input: five end offsets, and the committed input offset.
    expect(requests[0]).toBe('fence');
    expect([...requests.slice(1)].sort()).toEqual(['committed', 'ends', 'ends', 'ends', 'ends', 'ends']);
    await t.close();

    requests.length = 0;
    faults.inject('init', { kind: 'timeout' }, { subject: id });
    const failed = task(s, 0);
    await expect(failed.ready).rejects.toThrow();
    expect(failed.failure?.reason).toBe('open');
    expect(requests).toEqual([]);
  });

  it('skips records before its next offset, and refuses a chunk that starts past it as a gap', async () => {
    const { s, records, ids } = withInput();
    const t = task(s, 0);
    await t.ready;
    await t.process(records.slice(0, 3));
    expect(await t.process(records.slice(0, 3))).toEqual({ kind: 'processed', nextOffset: 3n });
    expect(await t.process(records.slice(4, 6))).toEqual({ kind: 'gap', expected: 3n, got: 4n });
    expect(committedKeys(s, 'dedupe', 0)).toEqual(ids.slice(0, 3));
    expect(committedInput(s, 0)).toBe(3n);
    expect(t.state).toBe('running');
    await t.close();
  });

  it('restores a checkpointed store from its tail only, and an empty or distrusted one in full', async () => {
    const { s, records, ids } = withInput();
    const home = freshDir();
    const first = task(s, 0, { config: { ...s.config, stateDir: home } });
    await first.ready;
    await first.process(records.slice(0, 4));
    await first.close();
    const atCheckpoint = committedChangelogRecords(s, 0);
    // Another instance (its own directory) moves the changelogs on.
    const other = task(s, 0);
    expect(await other.ready).toMatchObject({ mode: 'full', records: atCheckpoint });
    await other.process(records.slice(4));
    await other.close();
    const tail = committedChangelogRecords(s, 0) - atCheckpoint;
    expect(tail).toBeGreaterThan(0);

    const back = task(s, 0, { config: { ...s.config, stateDir: home } });
    expect(await back.ready).toMatchObject({ mode: 'checkpoint', records: tail });
    // Each restored store is marked warm for the assignor.
    expect(partitionsWithState(home, s.config.groupId)).toEqual([0]);
    expect(back.nextOffset).toBe(BigInt(records.length));
    await back.close();

    const distrusted = task(s, 0, { config: { ...s.config, stateDir: home }, distrust: 'a test says so' });
    expect(await distrusted.ready).toMatchObject({ mode: 'full', records: committedChangelogRecords(s, 0) });
    // Restored from the changelogs, the store dedupes what was processed.
    expect(await distrusted.process(records)).toEqual({
      kind: 'processed',
      nextOffset: BigInt(records.length),
    });
    expect(committedKeys(s, 'dedupe', 0)).toEqual(ids);
    await distrusted.close();
  });

  it('restores in full, counting an inconsistency, when its checkpoint is ahead of the changelogs', async () => {
    const { s, records } = withInput();
    const home = freshDir();
    const first = task(s, 0, { config: { ...s.config, stateDir: home } });
    await first.ready;
    await first.process(records);
    await first.close();
    // The same store against a cluster whose changelogs are empty (recreated topics, say).
    const other = shell(freshDir());
    const again = publishStream(other, { runs: 8 });
    const back = task(other, 0, { config: { ...other.config, stateDir: home } });
    expect(await back.ready).toMatchObject({ mode: 'full', records: 0 });
    expect(await other.registry.getSingleMetricAsString('runstream_processor_inconsistencies_total')).toMatch(
      /kind="checkpoint_ahead"} 1/,
    );
    expect(back.nextOffset).toBe(0n);
    // The store was emptied: the same deliveries again are new to it, not duplicates.
    await back.process(inputRecords(other, 0));
    expect(committedKeys(other, 'dedupe', 0)).toEqual(idsOf(again, 0));
    await back.close();
  });

  it('resumes at the earliest retained input when retention deleted records it never processed', async () => {
    const { s, records, ids } = withInput();
    const t = task(s, 0);
    await t.ready;
    await t.process(records.slice(0, 2));
    await t.close();
    s.kafka.cluster.partition(s.topics.deliveries, 0).truncateBefore(4n);
    const next = task(s, 0);
    await next.ready;
    expect(next.nextOffset).toBe(4n);
    expect(s.lines.some((l) => l.level === WARN && /deleted by retention/.test(l.msg))).toBe(true);
    await next.process(inputRecords(s, 0));
    expect(committedKeys(s, 'dedupe', 0)).toEqual([...ids.slice(0, 2), ...ids.slice(4)]);
    expect(committedInput(s, 0)).toBe(BigInt(records.length));
    await next.close();
  });

  it('fails as fenced when a newer producer took the id, and trusts its checkpoint still', async () => {
    const { s, records } = withInput();
    const t = task(s, 0);
    await t.ready;
    s.kafka.cluster.faults.inject('commit', { kind: 'fence' });
    const error = await t.process(records.slice(0, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskUnavailableError);
    expect(t.state).toBe('failed');
    expect(t.failure).toMatchObject({ reason: 'fenced', distrustCheckpoint: false });
    expect(committedKeys(s, 'dedupe', 0)).toEqual([]);
    expect(committedInput(s, 0)).toBeUndefined();
    await t.close();
  });

  it('fails a transaction that did not commit (lost request, partial send, coordinator move) as a transaction failure', async () => {
    const { s, records } = withInput();
    const dedupe = changelogTopic(s.topics, 'dedupe');
    for (const [op, fault] of [
      ['send', { kind: 'timeout' }],
      ['send', { kind: 'partialSend', topic: dedupe }],
      ['sendOffsets', { kind: 'coordinatorMoved' }],
    ] as const) {
      const t = task(s, 0);
      await t.ready;
      s.kafka.cluster.faults.inject(op, fault);
      await expect(t.process(records.slice(0, 2))).rejects.toBeInstanceOf(TaskUnavailableError);
      expect(t.failure).toMatchObject({ reason: 'transaction', distrustCheckpoint: false });
      await t.close();
    }
    expect(s.kafka.cluster.faults.fired.map((f) => f.kind)).toEqual([
      'timeout',
      'partialSend',
      'coordinatorMoved',
    ]);
    expect(
      s.lines.some((l) =>
        /did not acknowledge .*dedupe-changelog\/0/.test(
          String(l.err && (l.err as { message?: string }).message),
        ),
      ),
    ).toBe(true);
    expect(committedKeys(s, 'dedupe', 0)).toEqual([]);
    expect(committedInput(s, 0)).toBeUndefined();
  });

  it('reports an EndTxn without an answer as an unknown outcome', async () => {
    const { s, records } = withInput();
    const t = task(s, 0);
    await t.ready;
    s.kafka.cluster.faults.inject('commit', { kind: 'timeout' });
    await expect(t.process(records.slice(0, 2))).rejects.toBeInstanceOf(TaskUnavailableError);
    expect(t.failure).toMatchObject({ reason: 'transaction' });
    const metrics = await s.registry.getSingleMetricAsString('runstream_processor_inconsistencies_total');
    expect(metrics).toMatch(/kind="transaction_outcome_unknown"} 1/);
    // Logged at error before fence-txn's change, at warn after it: at least a warning.
    expect(s.lines.some((l) => l.level >= WARN && /transaction outcome unknown/.test(l.msg))).toBe(true);
    await t.close();
  });

  it('closes during a restore at once, releasing the producer and the store', async () => {
    const { s, records } = withInput();
    const writer = task(s, 0);
    await writer.ready;
    await writer.process(records);
    await writer.close();
    const home = freshDir();
    s.kafka.cluster.faults.stall(changelogTopic(s.topics, 'runs'), 0);
    const t = task(s, 0, { config: { ...s.config, stateDir: home } });
    while (t.state === 'opening') await new Promise((resolve) => setImmediate(resolve));
    expect(t.state).toBe('restoring');
    await t.close();
    await expect(t.ready).rejects.toBeInstanceOf(TaskUnavailableError);
    expect(t.state).toBe('closed');
    expect(t.failure).toBeUndefined();
    // The store's lock was released: a new task opens the same directory.
    s.kafka.cluster.faults.unstall(changelogTopic(s.topics, 'runs'), 0);
    const again = task(s, 0, { config: { ...s.config, stateDir: home } });
    expect(await again.ready).toMatchObject({ mode: 'full' });
    await again.close();
  });
});

describe('PartitionTask with a delayed EndTxn', () => {
  // The commit's EndTxn times out for the client but reaches the coordinator later. The
  // task fails (outcome unknown); the next task re-initialises the transactional id,
  // whose epoch bump fences the request in flight, restores what committed, and goes on
  // from the committed offset. Whenever the late EndTxn lands, each delivery's marker
  // is committed once and the input offset is the end.
  for (const when of ['after the re-initialisation', 'before the re-initialisation'] as const) {
    it(`loses and doubles nothing when it arrives ${when}`, async () => {
      const { s, records, ids } = withInput(3);
      const home = freshDir();
      const config = { ...s.config, stateDir: home };
      const first = task(s, 0, { config });
      await first.ready;
      const cut = Math.floor(records.length / 2);
      await first.process(records.slice(0, cut));
      s.kafka.cluster.faults.inject('commit', { kind: 'late' });
      await expect(first.process(records.slice(cut))).rejects.toBeInstanceOf(TaskUnavailableError);
      expect(first.failure?.reason).toBe('transaction');
      expect(s.kafka.cluster.faults.pendingLate).toBe(1);
      await first.close();

      if (when === 'before the re-initialisation') {
        expect(s.kafka.cluster.faults.deliverLate()).toEqual({ op: 'commit', applied: true });
      }
      const second = task(s, 0, { config });
      // The late EndTxn lands while the second task's transaction is open.
      let late: ReturnType<typeof s.kafka.cluster.faults.deliverLate> | undefined;
      if (when === 'after the re-initialisation') {
        s.kafka.cluster.faults.inject('sendOffsets', {
          kind: 'before',
          run: () => {
            late = s.kafka.cluster.faults.deliverLate();
          },
        });
      }
      await second.ready;
      await second.process(records);
      await second.close();

      if (when === 'after the re-initialisation') {
        expect(late).toMatchObject({ applied: false, error: { type: 'PRODUCER_FENCED' } });
      }
      expect(s.kafka.cluster.faults.pendingLate).toBe(0);
      expect(committedKeys(s, 'dedupe', 0)).toEqual(ids);
      expect(committedInput(s, 0)).toBe(BigInt(records.length));
      // Every committed transaction ended with its input position: none was torn.
      const positions = committedKeys(s, 'aggregates', 0).filter((k) => k === INPUT_AT_0);
      expect(positions.length).toBe(
        s.kafka.cluster.coordinator.endTxns.filter((e) => e.result === 'committed').length,
      );
    });
  }
});
