// The metric catalogue is the one declaration of every family served from the view; the
// design contract's table of metrics must say the same names, types and labels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOGUE, globTest, METRIC_FAMILIES, MetricCatalogue } from '../../../schemas/metrics.js';

const design = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'design.md'), 'utf8');

describe('metric catalogue', () => {
  it('matches the metrics table of docs/design.md', () => {
    const rows = [
      ...design.matchAll(/^\| `((?:github_actions|runstream_delivery)_[a-z_]+)` \| (\w+) \| ([^|]+) \|$/gm),
    ].map(([, name, type, labels]) => ({
      name,
      type,
      // Parenthesised notes qualify a label's values, not its name.
      labels: labels!
        .replace(/\([^)]*\)/g, '')
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    }));
    const catalogue = Object.values(METRIC_FAMILIES).map((f) => ({
      name: f.name,
      type: f.type,
      labels: [...f.labels],
    }));
    expect(rows).toEqual(catalogue);
  });

  it('keys a series as before the catalogue was configurable, whatever raw values come along', () => {
    const values = {
      conclusion: 'success',
      labels: 'x',
      runner_group: 'g',
      repository: 'o/r',
      workflow: 'CI',
    };
    const name = 'github_actions_jobs_completed_total';
    const key = `${name}["o/r","CI","g","x","success"]`;
    expect(DEFAULT_CATALOGUE.seriesKey(name, values)).toBe(key);
    // branch_kind reaches the catalogue with every delta; unconfigured, it changes nothing.
    expect(DEFAULT_CATALOGUE.seriesKey(name, { ...values, branch_kind: 'other' })).toBe(key);
    expect(DEFAULT_CATALOGUE.seriesLabels(name, { repository: 'o/r' })).toEqual({
      repository: 'o/r',
      workflow: '',
      runner_group: '',
      labels: '',
      conclusion: '',
    });
  });

  it('keys a series by its values alone, however often and in whatever order it is asked', () => {
    // seriesKey is memoised; the key is the family and the JSON of its label values.
    const name = 'github_actions_jobs_completed_total';
    const catalogue = new MetricCatalogue({ pools: [{ pool: 'linux', patterns: ['ubuntu-*'] }] });
    const tricky = ['', 'a', 'b', '|', 'a|', '1:b', 'a|1:b', '\u0000', '"', 'ubuntu-22.04', 'ubuntu-24.04'];
    const keys = new Map<string, string>();
    for (let round = 0; round < 2; round++) {
      for (const repository of tricky) {
        for (const workflow of tricky) {
          for (const labels of tricky) {
            const values = { repository, workflow, labels, runner_group: 'g', conclusion: 'success' };
            const pool = labels.startsWith('ubuntu-') ? 'linux' : labels;
            const expected = `${name}${JSON.stringify([repository, workflow, 'g', pool, 'success'])}`;
            expect(catalogue.seriesKey(name, values)).toBe(expected);
            keys.set(JSON.stringify([repository, workflow, pool]), expected);
          }
        }
      }
    }
    // Distinct value lists never share a key (the memo's own key cannot be fooled by
    // values that contain its separators).
    expect(new Set(keys.values()).size).toBe(keys.size);
  });

  it('keys series right after its memo starts over (past 100,000 remembered values)', () => {
    const name = 'github_actions_jobs_completed_total';
    const catalogue = new MetricCatalogue();
    const values = (i: number) => ({ repository: `o/r${i}`, workflow: 'CI', conclusion: 'success' });
    const expected = (i: number) => `${name}${JSON.stringify([`o/r${i}`, 'CI', '', '', 'success'])}`;
    // A node per label value of each new series: 25,000 series fill it past its bound.
    const wrong: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 25_000; i++)
        if (catalogue.seriesKey(name, values(i)) !== expected(i)) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('makes series of the kept labels, in the family order, with labels named by pool', () => {
    const name = 'github_actions_jobs_completed_total';
    const catalogue = new MetricCatalogue({
      branchKind: true,
      labels: { [name]: ['branch_kind', 'labels', 'conclusion'] },
      pools: [{ pool: 'linux', patterns: ['ubuntu-*', 'linux'] }],
    });
    const values = {
      repository: 'o/r',
      labels: 'self-hosted,ubuntu-24.04',
      conclusion: 'failure',
      branch_kind: 'default',
    };
    expect(catalogue.seriesLabels(name, values)).toEqual({
      labels: 'linux',
      conclusion: 'failure',
      branch_kind: 'default',
    });
    expect(Object.keys(catalogue.seriesLabels(name, values))).toEqual([
      'labels',
      'conclusion',
      'branch_kind',
    ]);
    expect(catalogue.seriesKey(name, values)).toBe(`${name}["linux","failure","default"]`);
    expect(catalogue.poolOf('')).toBe('');
  });

  it('matches globs: * and ? within one path segment, case-insensitive, everything else literal', () => {
    expect(globTest('octo-org/*')('Octo-Org/api')).toBe(true);
    expect(globTest('octo-org/*')('octo-org/a/b')).toBe(false);
    expect(globTest('*/web')('acme/web')).toBe(true);
    expect(globTest('a?c/x')('abc/x')).toBe(true);
    expect(globTest('a.c/x')('abc/x')).toBe(false);
    expect(globTest('ubuntu-(22)*')('ubuntu-(22).04')).toBe(true);
  });
});
