// deploy/keda: the autoscaler recipes, rendered offline with kubectl kustomize. KEDA's CRDs
// are not installed here, so their structure is checked field by field; every Prometheus
// query is run by promtool against two exporter pods (counted once), a pool with nothing
// queued, and no series at all (an error for a ScaledObject, the fallback for a ScaledJob);
// the metrics-api trigger points at the exporter Service of the pack and at the field the
// exporter's /demand answers with.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { demandBody, poolDemandBody } from '../../../exporter/demand.js';
import { root } from '../../support/deploy-contract.js';
import { render, renderDirectory } from '../../support/kustomize.js';
import { metricNamesIn, metricNamesServed } from '../../support/metric-names.js';
import { promtool } from '../../support/prometheus.js';
import { useTempDir } from '../../support/temp-dir.js';

interface Trigger {
  type: string;
  metadata: Record<string, string>;
}
interface Recipe {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string };
  spec: {
    scaleTargetRef?: { name?: string };
    jobTargetRef?: { template?: { spec?: { containers?: unknown[] } } };
    fallback?: { failureThreshold?: number; replicas?: number };
    minReplicaCount?: number;
    triggers: Trigger[];
  };
}

const recipes = renderDirectory(join(root, 'deploy', 'keda')) as unknown as Recipe[];
const triggers = recipes.flatMap((r) => r.spec.triggers.map((t) => ({ recipe: r, trigger: t })));
const prometheus = triggers.filter((t) => t.trigger.type === 'prometheus');
const metricsApi = triggers.filter((t) => t.trigger.type === 'metrics-api');

/** The pool a recipe scales, from its query or URL. */
const poolOf = (trigger: Trigger) =>
  /pool="([^"]+)"/.exec(trigger.metadata.query ?? '')?.[1] ??
  new URL(trigger.metadata.url!).searchParams.get('pool')!;

describe('KEDA recipes', () => {
  it('are a ScaledObject through each scaler and a ScaledJob, each one trigger for one pool', () => {
    expect(recipes.map((r) => `${r.kind}/${r.spec.triggers.map((t) => t.type).join(',')}`).sort()).toEqual([
      'ScaledJob/prometheus',
      'ScaledObject/metrics-api',
      'ScaledObject/prometheus',
    ]);
    for (const r of recipes) {
      expect(r.apiVersion).toBe('keda.sh/v1alpha1');
      expect(r.metadata.namespace).toBeTruthy();
      if (r.kind === 'ScaledObject') expect(r.spec.scaleTargetRef?.name).toBeTruthy();
      else expect(r.spec.jobTargetRef?.template?.spec?.containers?.length).toBeGreaterThan(0);
      expect(r.spec.triggers).toHaveLength(1);
    }
  });

  it('never read a missing result as zero demand: an error with a fallback, or a fallback in the query', () => {
    for (const r of recipes.filter((x) => x.kind === 'ScaledObject')) {
      expect(r.spec.fallback?.failureThreshold, r.metadata.name).toBeGreaterThan(0);
      expect(r.spec.fallback?.replicas, r.metadata.name).toBeGreaterThan(0);
    }
    for (const { recipe, trigger } of prometheus) {
      expect(trigger.metadata.ignoreNullValues, recipe.metadata.name).toBe('false');
      if (recipe.kind === 'ScaledJob')
        expect(trigger.metadata.query).toMatch(/ or on \(\) vector\([1-9]\d*\)$/);
    }
  });

  it('query only served metrics, counting the exporter replicas once', async () => {
    const served = await metricNamesServed();
    for (const { trigger } of prometheus) {
      expect(trigger.metadata.query).toContain(
        'max without (instance, pod) (github_actions_pool_queued_jobs{',
      );
      for (const name of metricNamesIn(trigger.metadata.query!)) expect(served).toContain(name);
    }
  });

  it("point the metrics-api scaler at the pack's exporter Service and the field /demand answers", () => {
    const pack = render({ overlay: 'production' });
    const service = pack.find((o) => o.kind === 'Service' && o.metadata?.name === 'runstream-exporter') as
      | { metadata: { name: string; namespace: string }; spec: { ports: Array<{ port: number }> } }
      | undefined;
    expect(service).toBeDefined();
    for (const { trigger } of metricsApi) {
      const url = new URL(trigger.metadata.url!);
      expect(url.hostname).toBe(`${service!.metadata.name}.${service!.metadata.namespace}.svc`);
      expect(service!.spec.ports.map((p) => p.port)).toContain(Number(url.port));
      expect(url.pathname).toBe('/demand');
      expect(trigger.metadata.format).toBe('json');
      // What the exporter answers for the pool, read where the trigger reads it.
      const body = poolDemandBody(
        demandBody([{ labels: { pool: poolOf(trigger) }, value: 3 }]),
        poolOf(trigger),
      );
      expect((body as unknown as Record<string, unknown>)[trigger.metadata.valueLocation!]).toBe(3);
    }
  });

  describe('their queries under promtool', () => {
    const dir = useTempDir('runstream-keda-');

    it('count two exporter pods once, read a served 0 as 0, and give no result or the fallback without series', async () => {
      const series = (pod: string, pool: string, values: string) => ({
        series: `github_actions_pool_queued_jobs{job="runstream-exporter",namespace="runstream",instance="${pod}:9464",pod="${pod}",pool="${pool}"}`,
        values,
      });
      const tests = prometheus.map(({ recipe, trigger }) => {
        const pool = poolOf(trigger);
        const fallback = /vector\((\d+)\)$/.exec(trigger.metadata.query!)?.[1];
        const expr = trigger.metadata.query!;
        // 3 queued for 5 minutes on both pods, then 0 (served), then no series at all.
        const input = [series('exporter-a', pool, '3x5 0x5'), series('exporter-b', pool, '3x5 0x5')];
        const other = series('exporter-a', `${pool}-other`, '7x20');
        return {
          name: `${recipe.metadata.name}`,
          interval: '1m',
          input_series: [...input, other],
          promql_expr_test: [
            { expr, eval_time: '4m', exp_samples: [{ labels: `{pool="${pool}"}`, value: 3 }] },
            { expr, eval_time: '8m', exp_samples: [{ labels: `{pool="${pool}"}`, value: 0 }] },
            // Past the staleness window of the last sample: the exporters stopped serving it.
            {
              expr,
              eval_time: '18m',
              exp_samples: fallback ? [{ labels: '{}', value: Number(fallback) }] : [],
            },
          ],
        };
      });
      await writeFile(dir('empty.yml'), 'groups: []\n');
      await writeFile(
        dir('keda.test.yml'),
        stringify({ rule_files: ['empty.yml'], evaluation_interval: '1m', tests }),
      );
      const result = await promtool(['test', 'rules', 'keda.test.yml'], dir());
      expect(result.output).toContain('SUCCESS');
      expect(result.code).toBe(0);

      // The same test fails against a query that sums the replicas.
      const summed = tests.map((t) => ({
        ...t,
        promql_expr_test: t.promql_expr_test.map((c) => ({
          ...c,
          expr: c.expr.replace('max without (instance, pod)', 'sum without (instance, pod)'),
        })),
      }));
      await writeFile(
        dir('summed.test.yml'),
        stringify({ rule_files: ['empty.yml'], evaluation_interval: '1m', tests: summed }),
      );
      expect((await promtool(['test', 'rules', 'summed.test.yml'], dir())).code).not.toBe(0);
    }, 120_000);
  });
});
