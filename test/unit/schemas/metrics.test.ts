// The metric catalogue is the one declaration of every github_actions_ family; the
// design contract's table of metrics must say the same names, types and labels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../../../schemas/metrics.js';

const design = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'design.md'), 'utf8');

describe('metric catalogue', () => {
  it('matches the metrics table of docs/design.md', () => {
    const rows = [...design.matchAll(/^\| `(github_actions_[a-z_]+)` \| (\w+) \| ([^|]+) \|$/gm)].map(
      ([, name, type, labels]) => ({
        name,
        type,
        // Parenthesised notes qualify a label's values, not its name.
        labels: labels!
          .replace(/\([^)]*\)/g, '')
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean),
      }),
    );
    const catalogue = Object.values(METRIC_FAMILIES).map((f) => ({
      name: f.name,
      type: f.type,
      labels: [...f.labels],
    }));
    expect(rows).toEqual(catalogue);
  });
});
