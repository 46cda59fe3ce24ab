// deploy/grafana/runstream.json, statically: a well-formed dashboard whose panels use
// the datasource variable, only variables it defines, only metrics the code serves
// and only series the recording rules record. test/integration/operator-pack.test.ts
// runs every query against a live runstream.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dataPanels, queryVariables, readDashboard, variablesUsed } from '../../support/dashboard.js';
import { readRepoFile } from '../../support/deploy-contract.js';
import { metricNamesIn, metricNamesServed, recordedNamesIn } from '../../support/metric-names.js';

const dashboard = readDashboard();
/** Grafana's reference to the datasource variable (not a template string). */
const DATASOURCE = `$${'{datasource}'}`;
const panels = dataPanels(dashboard);
const recorded = new Set(
  (
    parse(readRepoFile('deploy/prometheus/rules.yml')) as {
      groups: Array<{ rules: Array<{ record?: string }> }>;
    }
  ).groups
    .flatMap((g) => g.rules)
    .flatMap((r) => (r.record ? [r.record] : [])),
);

describe('grafana dashboard', () => {
  it('has the panels the operator needs, with unique ids, inside a 24-column grid without overlaps', () => {
    const titles = panels.map((p) => p.title).join('\n');
    for (const wanted of [
      /queued jobs per runner pool/i,
      /running jobs per runner pool/i,
      /oldest queued/i,
      /queue time p50 \/ p95/i,
      /queue time distribution/i,
      /job duration/i,
      /run duration/i,
      /by conclusion/i,
      /failed job ratio/i,
      /runs in progress per repository/i,
      /busy runners per runner pool and runner group/i,
      /flaky jobs/i,
      /ingest/i,
      /processor: lag/i,
      /processor: restores/i,
      /exporter: catch-up/i,
      /scale sets/i,
    ]) {
      expect(titles).toMatch(wanted);
    }
    expect(panels.find((p) => /distribution/.test(p.title))?.type).toBe('heatmap');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries the Prometheus chosen in its datasource variable, with variables for repository and runner pool', () => {
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables).toEqual(['datasource', 'repository', 'runner_group', 'labels']);
    expect(queryVariables(dashboard).map((v) => v.label)).toEqual(['repository', 'runner_group', 'labels']);
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, `${panel.title} ${target.refId}`).toBe(DATASOURCE);
        for (const name of variablesUsed(target.expr)) expect(variables, panel.title).toContain(name);
      }
    }
  });

  it('reads only metrics the code serves, and the recorded series rather than the replicated raw ones', async () => {
    const served = await metricNamesServed();
    const selectors = queryVariables(dashboard).map((v) => v.selector);
    for (const expr of [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...selectors]) {
      for (const name of metricNamesIn(expr)) expect(served, expr).toContain(name);
      for (const name of recordedNamesIn(expr)) expect(recorded, expr).toContain(name);
    }
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        // Scale-set gauges are polled by each exporter, not part of the view: no rule.
        const raw = metricNamesIn(target.expr).filter(
          (n) => n.startsWith('github_actions_') && !n.startsWith('github_actions_scale_set_'),
        );
        expect(raw, `${panel.title} reads recorded series`).toEqual([]);
      }
    }
  });
});
