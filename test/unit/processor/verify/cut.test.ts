import { describe, expect, it } from 'vitest';
import { AggregatesCut } from '../../../../processor/verify/cut.js';
import {
  aggregateChangelogKey,
  encodeInputPosition,
  INPUT_POSITION_KEY,
} from '../../../../schemas/changelog.js';

const P = 2;
const key = (series: string) => aggregateChangelogKey(P, series);
const value = (text: string) => Buffer.from(text);
const position = (offset: bigint) => [key(INPUT_POSITION_KEY), encodeInputPosition(offset)] as const;

describe('AggregatesCut', () => {
  it('holds records until their transaction position arrives, then takes them', () => {
    const cut = new AggregatesCut(P);
    cut.apply(key('a'), value('1'));
    cut.apply(key('b'), value('1'));
    expect(cut.position).toBeUndefined();
    expect(cut.values.size).toBe(0);
    cut.apply(...position(10n));
    expect(cut.position).toBe(10n);
    expect([...cut.values.keys()].sort()).toEqual(['a', 'b']);
  });

  it('leaves out a transaction read in part: the cut stays at the last position', () => {
    const cut = new AggregatesCut(P);
    cut.apply(key('a'), value('1'));
    cut.apply(...position(10n));
    cut.apply(key('a'), value('2'));
    cut.apply(key('b'), null);
    expect(cut.position).toBe(10n);
    expect(cut.values.get('a')?.toString()).toBe('1');
    expect(cut.heldCount).toBe(2);
  });

  it('applies tombstones at the cut', () => {
    const cut = new AggregatesCut(P);
    cut.apply(key('a'), value('1'));
    cut.apply(...position(5n));
    cut.apply(key('a'), null);
    cut.apply(...position(6n));
    expect(cut.values.has('a')).toBe(false);
    expect(cut.position).toBe(6n);
  });

  it('refuses a record of another partition', () => {
    const cut = new AggregatesCut(P);
    expect(() => cut.apply(aggregateChangelogKey(P + 1, 'a'), value('1'))).toThrow(/partition/);
  });
});
