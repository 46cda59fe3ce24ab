// The replacement policy of failed partition tasks: a fenced task never fences the
// partition's new owner back, yet a partition the group still assigns to us is never
// left waiting; other failures back off, more with each consecutive one.
import { describe, expect, it } from 'vitest';
import type { TaskFailure } from '../../../processor/task.js';
import { type ReplacementInput, replacementDecision } from '../../../processor/task-manager.js';

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
