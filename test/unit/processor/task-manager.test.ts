// The replacement policy of failed partition tasks: a fenced task never fences the
// partition's new owner back, yet a partition the group still assigns to us is never
// left waiting; other failures back off, more with each consecutive one.
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { GroupBatch } from '../../../platform/kafka-port.js';
import { createProcessorMetrics } from '../../../processor/metrics.js';
import type { PartitionTask, TaskFailure, TaskState } from '../../../processor/task.js';
import { type ReplacementInput, replacementDecision, TaskManager } from '../../../processor/task-manager.js';
import { transactionalIdFor } from '../../../processor/transactions.js';
import { inputRecords, publishStream, shell, task } from '../../support/shell.js';
import { useTempDir } from '../../support/temp-dir.js';

const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};

const AT = 1_000_000;
const SESSION = 10_000;

function failure(reason: TaskFailure['reason']): TaskFailure {
  return { reason, at: AT, message: 'x', distrustCheckpoint: false };
}

function input(overrides: Partial<ReplacementInput>): ReplacementInput {
  return {
    failure: failure('fenced'),
    failures: 1,
    failedInGeneration: 3,
    generation: 3,
    now: AT + 100,
    sessionTimeoutMs: SESSION,
    stillOurs: undefined,
    ...overrides,
  };
}

describe('replacementDecision', () => {
  it('opens a partition that never failed', () => {
    expect(replacementDecision(input({ failure: undefined }))).toEqual({ open: true });
  });

  it('waits after a fence while the group has moved the partition or is being asked', () => {
    expect(replacementDecision(input({ stillOurs: false }))).toMatchObject({
      open: false,
      until: AT + 2 * SESSION,
    });
    expect(replacementDecision(input({ stillOurs: undefined }))).toMatchObject({ open: false });
  });

  it('reopens after a fence once a new assignment arrived, or the group says the partition is ours', () => {
    expect(replacementDecision(input({ generation: 4 }))).toEqual({ open: true });
    expect(replacementDecision(input({ stillOurs: true }))).toEqual({ open: true });
  });

  it('reopens after a fence at the latest after two session timeouts', () => {
    expect(replacementDecision(input({ stillOurs: false, now: AT + 2 * SESSION - 1 })).open).toBe(false);
    expect(replacementDecision(input({ stillOurs: false, now: AT + 2 * SESSION })).open).toBe(true);
  });

  it('backs off other failures, doubling from 250 ms up to 10 s', () => {
    const opensAfter = (failures: number, elapsed: number) =>
      replacementDecision(input({ failure: failure('transaction'), failures, now: AT + elapsed })).open;
    expect(opensAfter(1, 249)).toBe(false);
    expect(opensAfter(1, 250)).toBe(true);
    expect(opensAfter(3, 999)).toBe(false);
    expect(opensAfter(3, 1000)).toBe(true);
    expect(opensAfter(20, 9_999)).toBe(false);
    expect(opensAfter(20, 10_000)).toBe(true);
  });
});

// What the manager says it believed when the group gives it partitions, and what it tells a
// crash line: the broker-kill run of 2026-12-06 18:46 had both consumers crash and rejoin,
// then log nothing, and nobody could tell whether their tasks still ran.
describe('TaskManager, what it believed', () => {
  type Stub = { state: TaskState; nextOffset: bigint; failure: TaskFailure | undefined };

  function manager() {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const tasks = new Map<number, Stub>();
    const paused = new Set<number>();
    const resumed: number[] = [];
    const m = new TaskManager({
      config: { groupId: 'g', sessionTimeoutMs: SESSION, maxRecordsPerTransaction: 100 },
      deliveriesTopic: 'deliveries',
      offsets: { assignedTo: async () => [] },
      logger,
      metrics: createProcessorMetrics(new Registry()),
      now: () => AT,
      createTask: (partition) => {
        const stub: Stub & { ready: Promise<never>; close(): Promise<void> } = {
          state: 'restoring',
          nextOffset: 0n,
          failure: undefined,
          ready: new Promise<never>(() => undefined),
          close: async () => undefined,
        };
        tasks.set(partition, stub);
        return stub as unknown as PartitionTask;
      },
    });
    m.attach({
      resume: (p) => {
        paused.delete(p);
        resumed.push(p);
      },
      isPaused: (p) => paused.has(p),
      seek: () => undefined,
    });
    const assignedLines = () => lines.filter((l) => l.msg === 'partitions assigned');
    return { m, tasks, paused, resumed, assignedLines };
  }

  it('after a consumer restart (the same partitions, a new member) names each task with its next offset, and the paused partitions', () => {
    const { m, tasks, paused, resumed, assignedLines } = manager();
    m.onAssignment('member-a', [5, 3]);
    expect(assignedLines()[0]).toMatchObject({
      partitions: [3, 5],
      generation: 1,
      memberId: 'member-a',
      tasks: { 3: 'none', 5: 'none' },
      paused: [],
    });
    Object.assign(tasks.get(3)!, { state: 'running', nextOffset: 138n });
    Object.assign(tasks.get(5)!, { state: 'running', nextOffset: 253n });
    paused.add(5);

    m.onAssignment('member-b', [3, 5]);
    expect(assignedLines()[1]).toMatchObject({
      partitions: [3, 5],
      generation: 2,
      memberId: 'member-b',
      tasks: { 3: 'running@138', 5: 'running@253' },
      paused: [5],
    });
    // The running task's partition is fetched again, and no task was replaced.
    expect(resumed).toEqual([5]);
    expect(m.believed().tasks).toEqual({ 3: 'running@138', 5: 'running@253' });
  });

  it('says which task failed and why, then that the partition waits for its replacement', () => {
    const { m, tasks } = manager();
    m.onAssignment('member-a', [7]);
    Object.assign(tasks.get(7)!, {
      state: 'failed',
      failure: { reason: 'transaction', at: AT, message: 'x' },
    });
    expect(m.believed()).toEqual({
      memberId: 'member-a',
      generation: 1,
      tasks: { 7: 'failed(transaction)' },
    });
    m.reconcile(); // the failure is recorded; the backoff (250 ms) keeps the partition without a task
    expect(m.believed().tasks).toEqual({ 7: 'none, 1 failed (transaction)' });
  });
});

// The TaskManager class over real partition tasks (the fake Kafka port, RocksDB in a
// temporary directory), fed batches as the group consumer hands them (Kafka Streams'
// TaskManagerTest): assignment, pause and resume, chunks resolved only once committed,
// a stale batch left alone, an input gap sought back, and replacement after failures.
describe('TaskManager', () => {
  const dir = useTempDir('runstream-task-manager-');
  let dirs = 0;

  function setup(options: { maxRecordsPerTransaction?: number } = {}) {
    const s = shell(dir(`s-${dirs++}`));
    publishStream(s, { runs: 8 });
    let clock = 1_000_000;
    const created: Array<{ partition: number; distrust: string | undefined; task: PartitionTask }> = [];
    const paused = new Set<number>();
    const seeks: Array<[number, bigint]> = [];
    const manager = new TaskManager({
      config: { ...s.config, ...options },
      deliveriesTopic: s.topics.deliveries,
      createTask: (partition, distrust) => {
        const t = task(s, partition, { now: () => clock, ...(distrust ? { distrust } : {}) });
        created.push({ partition, distrust, task: t });
        return t;
      },
      offsets: s.offsets,
      logger: s.logger,
      metrics: s.metrics,
      now: () => clock,
    });
    manager.attach({
      resume: (p) => paused.delete(p),
      isPaused: (p) => paused.has(p),
      seek: (p, offset) => seeks.push([p, offset]),
    });
    const batch = (partition: number, records = inputRecords(s, partition), stale = false) => {
      const resolved: string[] = [];
      return {
        resolved,
        batch: {
          partition,
          records: records.map((r) => ({ ...r, key: null })),
          resolveOffset: (offset: string) => resolved.push(offset),
          heartbeat: async () => {},
          isRunning: () => true,
          isStale: () => stale,
          pause: () => paused.add(partition),
        } satisfies GroupBatch,
      };
    };
    return {
      s,
      manager,
      created,
      paused,
      seeks,
      batch,
      advance: (ms: number) => {
        clock += ms;
      },
      running: () => Promise.all(created.map((c) => c.task.ready.catch(() => undefined))),
    };
  }

  it('opens a task per assigned partition, is ready once all run, and closes what a new assignment revokes', async () => {
    const { s, manager, created, running } = setup();
    expect(manager.readiness()).toEqual({ ready: false, detail: 'joining the consumer group' });
    manager.onAssignment('m1', [1, 0]);
    expect(created.map((c) => c.partition)).toEqual([0, 1]);
    expect(manager.readiness()).toEqual({ ready: false, detail: 'restoring partitions 0,1' });
    await running();
    expect(manager.readiness()).toEqual({ ready: true, detail: 'owns partitions [0,1]' });
    manager.onAssignment('m1', [0]);
    await created[1]!.task.ready;
    await vi.waitFor(() => expect(created[1]!.task.state).toBe('closed'));
    expect(created[0]!.task.state).toBe('running');
    expect(manager.ownedPartitions).toEqual([0]);
    expect(s.kafka.cluster.journal).toContain(
      `transactional producer ${transactionalIdFor(s.config.groupId, s.topics.deliveries, 1)} disconnected`,
    );
    await manager.close();
    expect(created[0]!.task.state).toBe('closed');
  });

  it('pauses a partition whose task is not running yet, and resumes it once it runs', async () => {
    const { manager, created, paused, batch, running } = setup();
    manager.onAssignment('m1', [0]);
    const { batch: early, resolved } = batch(0);
    await manager.handleBatch(early);
    expect(paused.has(0)).toBe(true);
    expect(resolved).toEqual([]);
    await running();
    manager.reconcile();
    expect(paused.has(0)).toBe(false);
    expect(created[0]!.task.state).toBe('running');
    await manager.close();
  });

  it('processes a batch in transactions of the configured size, resolving each chunk once committed', async () => {
    const { s, manager, batch, running } = setup({ maxRecordsPerTransaction: 3 });
    manager.onAssignment('m1', [0]);
    await running();
    const records = inputRecords(s, 0);
    const { batch: all, resolved } = batch(0, records);
    await manager.handleBatch(all);
    const lasts = records.filter((_, i) => i % 3 === 2 || i === records.length - 1).map((r) => r.offset);
    expect(resolved).toEqual(lasts);
    expect(s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, 0)).toBe(
      BigInt(records.length),
    );
    expect(
      s.kafka.cluster.coordinator.endTxns.filter((e) => e.result === 'committed').length,
    ).toBeGreaterThanOrEqual(Math.ceil(records.length / 3));
    await manager.close();
  });

  it('leaves a stale batch alone, and seeks back to the next offset on a gap', async () => {
    const { s, manager, seeks, batch, running } = setup();
    manager.onAssignment('m1', [0]);
    await running();
    const records = inputRecords(s, 0);
    const stale = batch(0, records, true);
    await manager.handleBatch(stale.batch);
    expect(stale.resolved).toEqual([]);
    expect(s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, 0)).toBeUndefined();
    const gap = batch(0, records.slice(2));
    await manager.handleBatch(gap.batch);
    expect(gap.resolved).toEqual([]);
    expect(seeks).toEqual([[0, 0n]]);
    expect(await s.registry.getSingleMetricAsString('runstream_processor_inconsistencies_total')).toMatch(
      /kind="input_gap"} 1/,
    );
    await manager.close();
  });

  it('once a heartbeat says the group is rebalancing, processes no further transaction until the new assignment', async () => {
    const { s, manager, batch, running } = setup({ maxRecordsPerTransaction: 2 });
    manager.onAssignment('m1', [0, 1]);
    await running();
    const rebalancing = createErrorFromCode(27); // REBALANCE_IN_PROGRESS, as the coordinator answers
    const first = batch(0);
    first.batch.heartbeat = async () => {
      throw rebalancing;
    };
    // The transaction in flight commits; the batch's next one is not started.
    await expect(manager.handleBatch(first.batch)).rejects.toBe(rebalancing);
    expect(first.resolved).toEqual([inputRecords(s, 0)[1]!.offset]);
    expect(s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, 0)).toBe(2n);
    // Another partition's batch of the same assignment stops before its first transaction.
    const other = batch(1);
    await expect(manager.handleBatch(other.batch)).rejects.toBe(rebalancing);
    expect(other.resolved).toEqual([]);
    expect(s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, 1)).toBeUndefined();
    // The rejoin's assignment: processing goes on.
    manager.onAssignment('m1', [0, 1]);
    const again = batch(1);
    await manager.handleBatch(again.batch);
    expect(again.resolved.length).toBeGreaterThan(0);
    await manager.close();
  });

  it('replaces a task whose transaction failed after its backoff, and a fenced one only after a new assignment', async () => {
    const { s, manager, created, paused, batch, running, advance } = setup();
    manager.onAssignment('m1', [0]);
    await running();
    s.kafka.cluster.faults.inject('sendOffsets', { kind: 'timeout' });
    await manager.handleBatch(batch(0).batch);
    expect(paused.has(0)).toBe(true);
    expect(created[0]!.task.failure?.reason).toBe('transaction');
    advance(249);
    manager.reconcile();
    expect(created).toHaveLength(1);
    advance(1);
    manager.reconcile();
    expect(created).toHaveLength(2);
    await running();

    s.kafka.cluster.faults.inject('commit', { kind: 'fence' });
    await manager.handleBatch(batch(0).batch);
    expect(created[1]!.task.failure?.reason).toBe('fenced');
    // The group (the fake knows no member m1) does not assign the partition to us: wait.
    advance(10_000);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      manager.reconcile();
    }
    expect(created).toHaveLength(2);
    manager.onAssignment('m1', [0]);
    expect(created).toHaveLength(3);
    await running();
    expect(created[2]!.task.state).toBe('running');
    await manager.close();
  });
});
