// The test suite's exposition parser (test/support/exposition.ts) reads label values back
// as the text format escapes them: `\\` a backslash, `\"` a quote, `\n` a newline, in one
// pass, so an escaped backslash before an `n` stays a backslash and an `n`.
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../support/exposition.js';

/** The text format's escaping of a label value, written from the format's definition. */
const escaped = (value: string): string =>
  Array.from(value, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : c === '\n' ? '\\n' : c)).join('');

describe('parseExposition', () => {
  it('reads `\\\\n` as a backslash then n, and `\\n` as a newline', () => {
    const [sample] = parseExposition('m{a="back\\\\n",b="new\\nline",c="\\\\\\n",d="say \\"hi\\""} 2\n');
    expect(sample).toEqual({
      name: 'm',
      labels: { a: 'back\\n', b: 'new\nline', c: '\\\n', d: 'say "hi"' },
      value: 2,
    });
  });

  it('gives back every hostile value as it was escaped', () => {
    const values = [
      'back\\slash\\n',
      '\\\\n\\',
      'new\nline',
      'say "hi"',
      '\\"',
      'carriage\rreturn\u2028',
      'ünïcödé 😀 名前',
      'a,b',
      '',
      'x'.repeat(10_000),
    ];
    const text = values.map((v, i) => `m{i="${i}",v="${escaped(v)}"} ${i}`).join('\n');
    const samples = parseExposition(`# HELP m a help line\n${text}\n`);
    expect(samples.map((s) => s.labels.v)).toEqual(values);
    expect(samples.map((s) => s.value)).toEqual(values.map((_, i) => i));
  });
});
