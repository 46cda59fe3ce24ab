// The replacement policy of failed partition tasks: a fenced task never fences the
// partition's new owner back, yet a partition the group still assigns to us is never
// left waiting; other failures back off, more with each consecutive one.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createProcessorMetrics } from '../../../processor/metrics.js';
import type { PartitionTask, TaskFailure, TaskState } from '../../../processor/task.js';
import { type ReplacementInput, replacementDecision, TaskManager } from '../../../processor/task-manager.js';

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
