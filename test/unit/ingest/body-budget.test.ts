import { describe, expect, it } from 'vitest';
import { BodyBudget, LARGE_BODY_BYTES } from '../../../ingest/body-budget.js';

const MiB = 1024 * 1024;

describe('BodyBudget', () => {
  it('grants claims until the total is reached, and takes released bytes back', () => {
    const budget = new BodyBudget({ totalBytes: 100_000, largeBytes: 100_000 });
    const a = budget.open();
    const b = budget.open();
    expect(budget.grow(a, 60_000)).toBeUndefined();
    expect(budget.grow(b, 40_001)).toBe('budget');
    expect(b.bytes).toBe(0);
    expect(budget.grow(b, 40_000)).toBeUndefined();
    expect(budget.heldBytes).toBe(100_000);
    expect(budget.grow(b, 1)).toBe('budget');
    budget.release(a);
    budget.release(a);
    expect(budget.heldBytes).toBe(40_000);
    expect(budget.grow(b, 60_000)).toBeUndefined();
    expect(() => budget.grow(a, 1)).toThrow(/released/);
  });

  it('lets large bodies hold only their part, keeping the rest for ordinary ones', () => {
    const budget = new BodyBudget({ totalBytes: 64 * MiB, largeBytes: 50 * MiB });
    const large = [budget.open(), budget.open(), budget.open()];
    expect(budget.grow(large[0]!, 24 * MiB)).toBeUndefined();
    expect(budget.grow(large[1]!, 24 * MiB)).toBeUndefined();
    expect(budget.grow(large[2]!, 24 * MiB)).toBe('large_budget');
    expect(budget.grow(large[2]!, 2 * MiB + 1)).toBe('large_budget');
    // Small bodies still fit, up to the total.
    const small = Array.from({ length: 16 }, () => budget.open());
    for (const claim of small) expect(budget.grow(claim, MiB)).toBeUndefined();
    expect(budget.heldBytes).toBe(64 * MiB);
    expect(budget.grow(budget.open(), 1)).toBe('budget');
    budget.release(large[0]!);
    expect(budget.grow(large[2]!, 24 * MiB)).toBeUndefined();
  });

  it('moves a growing (chunked) body into the large part when it passes the threshold', () => {
    const budget = new BodyBudget({ totalBytes: 10 * MiB, largeBytes: 3 * MiB });
    const held = budget.open();
    expect(budget.grow(held, 2 * MiB)).toBeUndefined(); // large: 2 MiB of 3
    const growing = budget.open();
    expect(budget.grow(growing, LARGE_BODY_BYTES)).toBeUndefined(); // not large yet
    expect(budget.grow(growing, 1)).toBe('large_budget'); // 2 MiB + 1 MiB + 1 > 3 MiB
    budget.release(held);
    expect(budget.grow(growing, 1)).toBeUndefined();
    expect(budget.grow(growing, 2 * MiB - 1)).toBeUndefined(); // exactly 3 MiB large
    expect(budget.grow(growing, 1)).toBe('large_budget');
    budget.release(growing);
    expect(budget.heldBytes).toBe(0);
    // Everything is free again: one body may take the whole large part.
    expect(budget.grow(budget.open(), 3 * MiB)).toBeUndefined();
  });
});
