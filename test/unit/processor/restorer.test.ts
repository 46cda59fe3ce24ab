// ChangelogRestorer over the fake Kafka port into a real RocksDB store (Kafka Streams'
// StoreChangelogReaderTest): it copies each tail from its starting offset to the end
// offsets it is given, committed records only, tombstones as deletions, checkpoints
// every changelog at its end (also one whose tail holds markers only), fails a read that
// stops moving, and stops at once when aborted.
import { describe, expect, it } from 'vitest';
import type { ChangelogEnds } from '../../../processor/checkpoint.js';
import { ChangelogRestorer, RestoreIncompleteError } from '../../../processor/restorer.js';
import { RocksStore } from '../../../processor/store.js';
import { readCheckpoint, storeKey } from '../../../processor/store-layout.js';
import { CHANGELOG_KINDS, type ChangelogKind, changelogTopic } from '../../../schemas/changelog.js';
import { type Shell, shell } from '../../support/shell.js';
import { useTempDir } from '../../support/temp-dir.js';

const dir = useTempDir('runstream-restorer-');
let dirs = 0;
const freshDir = () => dir(`store-${dirs++}`);

/** One transaction of records to a changelog partition (committed or aborted). */
async function write(
  s: Shell,
  kind: ChangelogKind,
  entries: ReadonlyArray<[string, string | null]>,
  commit = true,
): Promise<void> {
  const producer = s.kafka.transactionalProducer({ transactionalId: `writer-${kind}` });
  await producer.init();
  const txn = await producer.begin();
  await txn.send([
    {
      topic: changelogTopic(s.topics, kind),
      records: entries.map(([key, value]) => ({ key, value, partition: 0 })),
    },
  ]);
  await (commit ? txn.commit() : txn.abort());
}

async function endsOf(s: Shell): Promise<Map<ChangelogKind, ChangelogEnds>> {
  const ends = new Map<ChangelogKind, ChangelogEnds>();
  for (const kind of CHANGELOG_KINDS)
    ends.set(kind, (await s.offsets.ends(changelogTopic(s.topics, kind))).get(0)!);
  return ends;
}

const fromZero = () => new Map<ChangelogKind, bigint>(CHANGELOG_KINDS.map((k) => [k, 0n]));

describe('ChangelogRestorer', () => {
  it('copies every committed record up to the end offsets, deletes tombstoned keys and checkpoints each changelog at its end', async () => {
    const s = shell(freshDir());
    await write(s, 'runs', [
      ['r0', 'a'],
      ['r1', 'b'],
      ['r2', 'c'],
    ]);
    await write(s, 'runs', [['r9', 'never']], false);
    await write(s, 'runs', [
      ['r1', null],
      ['r2', 'c2'],
    ]);
    await write(s, 'dedupe', [['d0', 'm']]);
    const ends = await endsOf(s);
    // runs: 3 + marker, 1 aborted + marker, 2 + marker.
    expect(ends.get('runs')).toEqual({ low: 0n, high: 9n });
    const store = await RocksStore.open(freshDir());
    try {
      const read = await s.restorer.restore({
        store,
        partition: 0,
        from: fromZero(),
        ends,
        signal: new AbortController().signal,
        now: Date.now,
      });
      expect(read).toBe(6);
      expect((await store.get(storeKey('runs', 'r0')))?.toString()).toBe('a');
      expect(await store.get(storeKey('runs', 'r1'))).toBeUndefined();
      expect((await store.get(storeKey('runs', 'r2')))?.toString()).toBe('c2');
      expect(await store.get(storeKey('runs', 'r9'))).toBeUndefined();
      expect((await store.get(storeKey('dedupe', 'd0')))?.toString()).toBe('m');
      const { offsets } = await readCheckpoint(store);
      expect(Object.fromEntries(offsets)).toEqual({ dedupe: 2n, runs: 9n, jobs: 0n, aggregates: 0n });
    } finally {
      await store.close();
    }
    expect(s.kafka.partitionConsumers).toHaveLength(1);
    expect(s.kafka.cluster.journal.filter((j) => j.startsWith('partition consumer'))).toHaveLength(1);
  });

  it('reads only each tail past its starting offset, and finishes a tail of markers only', async () => {
    const s = shell(freshDir());
    await write(s, 'runs', [
      ['r0', 'a'],
      ['r1', 'b'],
    ]);
    await write(s, 'runs', [['r2', 'c']]);
    await write(s, 'aggregates', [['x', 'y']], false);
    const ends = await endsOf(s);
    const store = await RocksStore.open(freshDir());
    try {
      const from = fromZero().set('runs', 3n);
      const counted = new Map<ChangelogKind, number>();
      const read = await s.restorer.restore({
        store,
        partition: 0,
        from,
        ends,
        signal: new AbortController().signal,
        now: Date.now,
        onRecords: (kind, n) => counted.set(kind, (counted.get(kind) ?? 0) + n),
      });
      expect(read).toBe(1);
      expect(Object.fromEntries(counted)).toEqual({ runs: 1 });
      expect(await store.get(storeKey('runs', 'r0'))).toBeUndefined();
      expect((await store.get(storeKey('runs', 'r2')))?.toString()).toBe('c');
      expect((await readCheckpoint(store)).offsets.get('aggregates')).toBe(2n);
    } finally {
      await store.close();
    }
  });

  it('fails with RestoreIncompleteError once a read stops moving for the stall timeout', async () => {
    const s = shell(freshDir());
    await write(s, 'jobs', [['j', 'v']]);
    s.kafka.cluster.faults.stall(changelogTopic(s.topics, 'jobs'), 0);
    const restorer = new ChangelogRestorer(s.kafka, s.topics, s.logger, 'test-', 100);
    const store = await RocksStore.open(freshDir());
    try {
      const started = Date.now();
      const error = await restorer
        .restore({
          store,
          partition: 0,
          from: fromZero(),
          ends: await endsOf(s),
          signal: new AbortController().signal,
          now: Date.now,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreIncompleteError);
      expect(String(error)).toMatch(/partition 0: no progress .*jobs-changelog\/0 at start of 2/);
      expect(Date.now() - started).toBeLessThan(2000);
      expect((await readCheckpoint(store)).offsets.size).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('stops at once with its signal, whatever the stall timeout', async () => {
    const s = shell(freshDir());
    await write(s, 'jobs', [['j', 'v']]);
    s.kafka.cluster.faults.stall(changelogTopic(s.topics, 'jobs'), 0);
    const store = await RocksStore.open(freshDir());
    const closing = new AbortController();
    try {
      const restore = s.restorer.restore({
        store,
        partition: 0,
        from: fromZero(),
        ends: await endsOf(s),
        signal: closing.signal,
        now: Date.now,
      });
      const reason = new Error('closing');
      setImmediate(() => closing.abort(reason));
      await expect(restore).rejects.toBe(reason);
    } finally {
      await store.close();
    }
  });
});
