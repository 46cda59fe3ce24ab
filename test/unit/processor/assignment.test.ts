// The processor group's assignment: every partition to exactly one member, balanced to
// within one; owned partitions stay where they are as far as balance allows; a moved
// partition goes to a member holding its state when one has room.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MemberState, stickyAssignment } from '../../../processor/assignment.js';

const partitions = Array.from({ length: 12 }, (_, p) => p);

describe('stickyAssignment', () => {
  it('assigns every partition once, balanced to within one, whatever the members say', () => {
    const member = fc.record({
      owned: fc.uniqueArray(fc.integer({ min: 0, max: 14 }), { maxLength: 12 }),
      warm: fc.uniqueArray(fc.integer({ min: 0, max: 14 }), { maxLength: 12 }),
    });
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 7 }), (raw) => {
        const members: MemberState[] = raw.map((m, i) => ({ memberId: `m${i}`, ...m }));
        const out = stickyAssignment(members, partitions);
        const all = [...out.values()].flat().sort((a, b) => a - b);
        expect(all).toEqual(partitions);
        const sizes = [...out.values()].map((l) => l.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // A member keeps at least as many of the partitions only it owns (as the group
        // had them: one owner each) as its fair share allows.
        const base = Math.floor(partitions.length / members.length);
        for (const m of members) {
          const kept = out.get(m.memberId)!.filter((p) => m.owned.includes(p)).length;
          const onlyMine = m.owned.filter(
            (p) => p < 12 && !members.some((o) => o !== m && o.owned.includes(p)),
          );
          expect(kept).toBeGreaterThanOrEqual(Math.min(base, onlyMine.length));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('moves only the departed member’s partitions when one leaves, to the members holding their state', () => {
    const before = stickyAssignment(
      [
        { memberId: 'a', owned: [], warm: [] },
        { memberId: 'b', owned: [], warm: [] },
        { memberId: 'c', owned: [], warm: [] },
      ],
      partitions,
    );
    const cOwned = before.get('c')!;
    const after = stickyAssignment(
      [
        { memberId: 'a', owned: before.get('a')!, warm: [...before.get('a')!, cOwned[0]!, cOwned[2]!] },
        { memberId: 'b', owned: before.get('b')!, warm: [...before.get('b')!, cOwned[1]!, cOwned[3]!] },
      ],
      partitions,
    );
    expect(after.get('a')).toEqual([...before.get('a')!, cOwned[0]!, cOwned[2]!].sort((x, y) => x - y));
    expect(after.get('b')).toEqual([...before.get('b')!, cOwned[1]!, cOwned[3]!].sort((x, y) => x - y));
  });

  it('gives a returning member back the partitions it holds state for, taking from those above their share', () => {
    const two = stickyAssignment(
      [
        { memberId: 'a', owned: [0, 1, 2, 3, 4, 5], warm: [] },
        { memberId: 'b', owned: [6, 7, 8, 9, 10, 11], warm: [] },
      ],
      partitions,
    );
    expect(two.get('a')).toEqual([0, 1, 2, 3, 4, 5]);
    const three = stickyAssignment(
      [
        { memberId: 'a', owned: two.get('a')!, warm: two.get('a')! },
        { memberId: 'b', owned: two.get('b')!, warm: two.get('b')! },
        { memberId: 'c', owned: [], warm: [4, 5, 10, 11] },
      ],
      partitions,
    );
    expect(three.get('c')).toEqual([4, 5, 10, 11]);
    expect(three.get('a')).toEqual([0, 1, 2, 3]);
  });

  it('gives a member restarted on its volume the partitions it held, whichever they are', () => {
    // b was killed; a took b's partitions over (and restored them, so it is warm for
    // all twelve); b comes back holding the state of the partitions it owned before.
    for (const bHeld of [
      [0, 1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10, 11],
      [1, 3, 5, 7, 9, 11],
    ]) {
      const out = stickyAssignment(
        [
          { memberId: 'a', owned: partitions, warm: partitions },
          { memberId: 'b', owned: [], warm: bHeld },
        ],
        partitions,
      );
      expect(out.get('b')).toEqual(bHeld);
      expect(out.get('a')).toEqual(partitions.filter((p) => !bHeld.includes(p)));
    }
  });
});
