// The operator pack against the real thing: Debian's Prometheus scrapes a live
// `runstream all` and a second `runstream exporter` (the replicated view the recording
// rules collapse), with scale-set statistics from a fake GitHub, fed by `runstream demo`
// in two waves (so counters rise between scrapes and rates are not zero). It loads
// deploy/prometheus/rules.yml and evaluates, through Prometheus' HTTP API, every
// recording rule and every query of deploy/grafana/runstream.json: each must return
// data, with every variable at "All" and at some value of its own list.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../support/broker.js';
import { type CliProcess, startCli, waitFor, waitForHttp } from '../support/cli-process.js';
import {
  dataPanels,
  queryVariables,
  readDashboard,
  substitute,
  variablesUsed,
} from '../support/dashboard.js';
import { readRepoFile, root } from '../support/deploy-contract.js';
import { parseExposition, scrape } from '../support/exposition.js';
import { FakeGitHub } from '../support/fake-github.js';
import { brokers } from '../support/kafka.js';
import { type PrometheusServer, type QuerySample, startPrometheus } from '../support/prometheus.js';

const SECRET = 'operator-pack-secret';
const RULES = join(root, 'deploy', 'prometheus', 'rules.yml');
const rules = (
  parse(readRepoFile('deploy/prometheus/rules.yml')) as {
    groups: Array<{ rules: Array<{ record?: string; alert?: string }> }>;
  }
).groups.flatMap((g) => g.rules);
const dashboard = readDashboard();

/** An exporter's github_actions_ view as served (scale-set gauges are polled, not viewed). */
async function viewOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('github_actions_') && !line.startsWith('github_actions_scale_set_'))
    .sort()
    .join('\n');
}

const finite = (samples: QuerySample[]) => samples.some((s) => Number.isFinite(Number(s.value[1])));

describe('operator pack against a live runstream', () => {
  const processes: CliProcess[] = [];
  let fake: FakeGitHub | undefined;
  let prometheus: PrometheusServer | undefined;
  let stateDir = '';
  const ports = { ingest: 0, processor: 0, exporter: 0, exporter2: 0 };
  const logs = () => processes.map((p) => p.log()).join('\n---\n');
  const value = async (expr: string) => Number((await prometheus!.query(expr))[0]?.value[1] ?? Number.NaN);

  beforeAll(async () => {
    fake = await new FakeGitHub().start();
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-pack-'));
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: `t${randomUUID().slice(0, 8)}.`,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_LOG_LEVEL: 'warn',
      RUNSTREAM_SCALE_SETS: '7',
      RUNSTREAM_GITHUB_CONFIG_URL: 'https://github.com/octo-org',
      RUNSTREAM_GITHUB_TOKEN: 'operator-pack-token',
      RUNSTREAM_GITHUB_API_URL: fake.url,
    };
    const all = startCli(['all'], {
      ...env,
      RUNSTREAM_WEBHOOK_SECRET: SECRET,
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_INGEST_PORT: String(ports.ingest),
      RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
      RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
    });
    processes.push(all);
    await waitForHttp(`http://127.0.0.1:${ports.ingest}/readyz`, 90_000, logs);
    // The second exporter starts once `all` has created the topics.
    processes.push(startCli(['exporter'], { ...env, RUNSTREAM_EXPORTER_PORT: String(ports.exporter2) }));
    await waitForHttp(`http://127.0.0.1:${ports.exporter}/readyz`, 60_000, logs);
    await waitForHttp(`http://127.0.0.1:${ports.exporter2}/readyz`, 60_000, logs);

    const target = (port: number) => `127.0.0.1:${port}`;
    prometheus = await startPrometheus({
      intervalS: 1,
      ruleFiles: [RULES],
      jobs: [
        {
          job_name: 'runstream-exporter',
          static_configs: [
            { targets: [target(ports.exporter)], labels: { pod: 'runstream-0' } },
            { targets: [target(ports.exporter2)], labels: { pod: 'runstream-exporter-1' } },
          ],
        },
        { job_name: 'runstream-processor', static_configs: [{ targets: [target(ports.processor)] }] },
        { job_name: 'runstream-ingest', static_configs: [{ targets: [target(ports.ingest)] }] },
      ],
    });

    // Settled: the processor has applied every delivery ingest accepted, both
    // exporters serve the same github_actions_ view, and Prometheus has scraped it.
    const total = async (port: number, name: string, result?: string) =>
      parseExposition(await scrape(port))
        .filter((m) => m.name === name && (result === undefined || m.labels.result === result))
        .reduce((sum, m) => sum + m.value, 0);
    const settled = async () => {
      await waitFor(
        'the processor to apply every accepted delivery',
        async () => {
          const accepted = await total(ports.ingest, 'runstream_ingest_deliveries_total', 'accepted');
          const processed = await total(ports.processor, 'runstream_processor_deliveries_total');
          return accepted > 0 && processed === accepted ? true : undefined;
        },
        90_000,
        logs,
      );
      let last = '';
      await waitFor(
        'both exporters serving the same view, unchanged for a second',
        async () => {
          const [a, b] = await Promise.all([viewOf(ports.exporter), viewOf(ports.exporter2)]);
          const same = a !== '' && a === b && a === last;
          last = a === b ? a : '';
          if (!same) return undefined;
          await new Promise((r) => setTimeout(r, 1000));
          return (await viewOf(ports.exporter)) === a ? true : undefined;
        },
        60_000,
        logs,
      );
      await new Promise((r) => setTimeout(r, 3000));
    };
    const wave = async (seed: number) => {
      const url = `http://127.0.0.1:${ports.ingest}/webhook`;
      const demo = startCli(
        ['demo', '--url', url, '--secret', SECRET, '--runs', '40', '--seed', String(seed)],
        {},
      );
      expect(await demo.exited(), demo.log()).toBe(0);
    };
    await wave(11);
    // Every series of the first wave scraped before the second raises them.
    await settled();
    await wave(12);
    await settled();
    for (const rate of [
      'github_actions:jobs_completed:rate5m',
      'github_actions:workflow_runs_completed:rate5m',
      'github_actions:job_queue_duration_seconds_bucket:rate5m',
      'github_actions:job_duration_seconds_bucket:rate5m',
      'github_actions:workflow_run_duration_seconds_bucket:rate5m',
      'runstream:processor_partitions_with_owner',
    ]) {
      await waitFor(
        `${rate} above 0`,
        async () => ((await value(`sum(${rate})`)) > 0 ? true : undefined),
        60_000,
        logs,
      );
    }
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const process of processes.reverse()) await process.stop();
    await fake?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, 120_000);

  it('scrapes every role, and both exporters serve the github_actions_ families', async () => {
    expect(await value('count(up == 1)')).toBe(4);
    expect(await value('count(count by (instance) (github_actions_jobs))')).toBe(2);
  });

  it('evaluates every recording rule to data', async () => {
    const empty: string[] = [];
    for (const { record } of rules.filter((r) => r.record)) {
      if (!finite(await prometheus!.query(record!))) empty.push(record!);
    }
    expect(empty, 'recording rules without data').toEqual([]);
  });

  it('counts the replicated view once: one recorded series per label set, the value of either pod', async () => {
    for (const [recorded, raw] of [
      ['github_actions:jobs', 'github_actions_jobs'],
      ['github_actions:workflow_runs', 'github_actions_workflow_runs'],
      [
        'github_actions:job_oldest_queued_timestamp_seconds',
        'github_actions_job_oldest_queued_timestamp_seconds',
      ],
    ] as const) {
      const series = await value(`count(${recorded})`);
      expect(series, recorded).toBeGreaterThan(0);
      expect(await value(`count(${raw})`), raw).toBe(2 * series);
      for (const port of [ports.exporter, ports.exporter2]) {
        expect(await value(`sum(${raw}{instance="127.0.0.1:${port}"})`), `${raw} on ${port}`).toBe(
          await value(`sum(${recorded})`),
        );
      }
    }
  });

  it('answers every dashboard query with data, at "All" and at a value of each variable it uses', async () => {
    const variables = queryVariables(dashboard);
    const choices = new Map<string, string[]>();
    for (const v of variables) {
      choices.set(v.name, await prometheus!.labelValues(v.label, v.selector));
      expect(choices.get(v.name)!.length, `values of $${v.name}`).toBeGreaterThan(0);
    }
    const all = Object.fromEntries(variables.map((v) => [v.name, 'All' as const]));
    const failures: string[] = [];
    for (const panel of dataPanels(dashboard)) {
      for (const target of panel.targets ?? []) {
        const where = `"${panel.title}" ${target.refId}`;
        if (!finite(await prometheus!.query(substitute(target.expr, all)))) {
          failures.push(`${where}: no data`);
          continue;
        }
        // A filter on a label the series lack empties the panel once a value is chosen.
        for (const name of variablesUsed(target.expr).filter((n) => choices.has(n))) {
          let found = false;
          for (const choice of choices.get(name)!) {
            if (finite(await prometheus!.query(substitute(target.expr, { ...all, [name]: choice })))) {
              found = true;
              break;
            }
          }
          if (!found) failures.push(`${where}: no data for any value of $${name}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('evaluates every rule without error; on healthy runstream only the queue alerts are active', async () => {
    const states = await prometheus!.rules();
    expect(states.map((s) => s.name).sort()).toEqual(rules.map((r) => r.record ?? r.alert).sort());
    expect(states.filter((s) => s.health !== 'ok').map((s) => `${s.name}: ${s.lastError}`)).toEqual([]);
    const active = states.filter((s) => s.type === 'alerting' && s.state !== 'inactive').map((s) => s.name);
    // The demo's unfinished runs leave jobs queued for hours.
    expect(active).toContain('GitHubActionsJobQueuedTooLong');
    expect(active.filter((name) => name.startsWith('Runstream'))).toEqual([]);
  });
});
