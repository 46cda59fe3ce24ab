// The store's layout (processor/store-layout.ts): a restore's copies of changelog records
// are keyed as storeKey keys the records' text, from the records' bytes.
import { describe, expect, it } from 'vitest';
import { copyOps, storeKey } from '../../../processor/store-layout.js';
import { CHANGELOG_KINDS } from '../../../schemas/changelog.js';

describe('copyOps', () => {
  it('keys each record as storeKey keys its text, null keys as the empty key, values as they are', () => {
    const texts = ['9000000001', '', 'o/r:1', 'é😀\u0000|', 'x'.repeat(300)];
    for (const kind of CHANGELOG_KINDS) {
      const records = [
        ...texts.map((text, i) => ({ key: Buffer.from(text), value: i % 2 ? null : Buffer.from(`v${i}`) })),
        { key: null, value: Buffer.from('no key') },
      ];
      const ops = copyOps(kind, records);
      expect(ops.map((op) => Buffer.isBuffer(op.key))).toEqual(records.map(() => true));
      expect(ops.map((op) => op.key.toString())).toEqual([
        ...texts.map((text) => storeKey(kind, text)),
        storeKey(kind, ''),
      ]);
      expect(ops.map((op) => op.value)).toEqual(records.map((r) => r.value));
    }
    expect(copyOps('runs', [])).toEqual([]);
  });

  it('gives each key its own bytes: a record changed afterwards changes no key', () => {
    const key = Buffer.from('abc');
    const [op] = copyOps('jobs', [{ key, value: null }]);
    key.write('xyz');
    expect(op!.key.toString()).toBe(storeKey('jobs', 'abc'));
  });
});
