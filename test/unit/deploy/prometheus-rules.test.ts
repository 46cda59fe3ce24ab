// deploy/prometheus/rules.yml: valid for promtool, unit-tested by promtool with a case
// where each alert fires and one where it stays silent, reading only metrics the code
// serves, each alert with a summary, a description saying what to check first, and a
// runbook section in docs/operations.md.
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRepoFile, root } from '../../support/deploy-contract.js';
import { metricNamesIn, metricNamesServed, recordedNamesIn } from '../../support/metric-names.js';
import { promtool } from '../../support/prometheus.js';
import { useTempDir } from '../../support/temp-dir.js';

const PROMTOOL_TIMEOUT_MS = 180_000;

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

interface AlertCase {
  alertname: string;
  exp_alerts: unknown[];
}

const RULES = 'deploy/prometheus/rules.yml';
/** promtool's test files: rules.daily.test.yml evaluates hourly, for alerts over days. */
const TESTS = ['deploy/prometheus/rules.test.yml', 'deploy/prometheus/rules.daily.test.yml'];
const rules = (parse(readRepoFile(RULES)) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);
const cases = TESTS.flatMap((file) =>
  (parse(readRepoFile(file)) as { tests: Array<{ alert_rule_test?: AlertCase[] }> }).tests.flatMap(
    (t) => t.alert_rule_test ?? [],
  ),
);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchorsOf = (markdown: string) =>
  new Set(
    [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );

describe('prometheus rules', () => {
  it('pass `promtool check rules`', async () => {
    const result = await promtool(['check', 'rules', RULES], root);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  // promtool evaluates every case over hours of series: seconds alone, more on a busy machine.
  it('pass their promtool unit tests', { timeout: PROMTOOL_TIMEOUT_MS }, async () => {
    const result = await promtool(['test', 'rules', ...TESTS], root);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('have a unit test where every alert fires and one where it stays silent', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} fires in some case`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is silent in some case`,
      ).toBe(true);
    }
    expect(cases.every((c) => alerts.some((a) => a.alert === c.alertname))).toBe(true);
  });

  it('give every alert a severity, a summary, what to check first, and a runbook section', () => {
    const anchors = anchorsOf(readRepoFile('docs/operations.md'));
    for (const rule of alerts) {
      expect(['warning', 'critical'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.description, `${rule.alert} description`).toMatch(/Check first/);
      const runbook = `docs/operations.md#${rule.alert!.toLowerCase()}`;
      expect(rule.annotations?.runbook).toBe(runbook);
      expect(anchors, `docs/operations.md has a section ${rule.alert}`).toContain(rule.alert!.toLowerCase());
    }
  });

  it('read only metrics the code serves and series recorded before them', async () => {
    const served = await metricNamesServed();
    expect(served).toContain('runstream_processor_lag');
    expect(served).toContain('github_actions_job_queue_duration_seconds_bucket');
    const recorded = new Set<string>();
    for (const rule of rules) {
      for (const name of metricNamesIn(rule.expr))
        expect(served, `${rule.record ?? rule.alert}`).toContain(name);
      for (const name of recordedNamesIn(rule.expr)) {
        expect(recorded, `${rule.record ?? rule.alert} reads ${name}`).toContain(name);
      }
      if (rule.record) recorded.add(rule.record);
    }
  });

  it('collapse every github_actions_ family of the exporter with max without (instance, pod)', () => {
    for (const rule of rules.filter((r) => r.record?.startsWith('github_actions:'))) {
      const raw = metricNamesIn(rule.expr);
      if (raw.length > 0) expect(rule.expr, rule.record).toMatch(/^max without \(instance, pod\) \(/);
    }
  });

  describe('promtool tests that can fail', () => {
    const dir = useTempDir('runstream-rules-');

    it('fail when an alert no longer fires, or fires where it should stay silent', {
      timeout: PROMTOOL_TIMEOUT_MS,
    }, async () => {
      const source = readRepoFile(RULES);
      const tests = readRepoFile(TESTS[0]!);
      const mutations = [
        ['> 1800', '> 999999'], // never fires
        [
          '(github_actions:job_oldest_queued_timestamp_seconds > 0)',
          'github_actions:job_oldest_queued_timestamp_seconds',
        ],
      ] as const;
      const files: string[] = [];
      for (const [i, [from, to]] of mutations.entries()) {
        expect(source).toContain(from);
        await writeFile(dir(`rules-${i}.yml`), source.replace(from, to));
        await writeFile(dir(`mutant-${i}.test.yml`), tests.replace('  - rules.yml', `  - rules-${i}.yml`));
        files.push(`mutant-${i}.test.yml`);
      }
      const results = await Promise.all(files.map((file) => promtool(['test', 'rules', file], dir())));
      for (const [i, result] of results.entries()) {
        expect(result.code, `with ${mutations[i]![1]}`).not.toBe(0);
        expect(result.output).toContain('alertname: GitHubActionsJobQueuedTooLong');
      }
    });
  });
});
