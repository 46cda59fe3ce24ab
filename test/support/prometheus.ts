// Debian's Prometheus (the `prometheus` package: the server and promtool) for tests:
// promtool runs, and a server on a free loopback port with its own config and data
// directory, queried through its HTTP API and stopped by its pid.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from './broker.js';

const run = promisify(execFile);

export interface ToolResult {
  code: number;
  output: string;
}

/** Runs promtool; a missing binary is an error that says how to get it. */
export async function promtool(args: readonly string[], cwd?: string): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run('promtool', [...args], { cwd, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: string | number; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error('promtool is not installed (apt-get install prometheus; .ci/run does)');
    }
    return { code: Number(failure.code ?? 1), output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

export interface QuerySample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RuleState {
  name: string;
  type: 'recording' | 'alerting';
  health: string;
  lastError?: string;
  state?: string;
  alerts?: Array<{ labels: Record<string, string>; state: string }>;
}

export interface PrometheusServer {
  url: string;
  query(expr: string): Promise<QuerySample[]>;
  labelValues(label: string, match: string): Promise<string[]>;
  rules(): Promise<RuleState[]>;
  stop(): Promise<void>;
}

export interface ScrapeJob {
  job_name: string;
  static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a Prometheus server scraping `jobs` and evaluating `ruleFiles`, every `intervalS` seconds. */
export async function startPrometheus(options: {
  jobs: ScrapeJob[];
  ruleFiles: string[];
  intervalS: number;
}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'runstream-prometheus-'));
  const interval = `${options.intervalS}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles,
    scrape_configs: options.jobs,
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error('prometheus is not installed (apt-get install prometheus; .ci/run does)')
          : error,
      ),
    );
  });
  const server: PrometheusServer = {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: QuerySample[] }>(
        `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.resultType === 'vector' ? data.result : [];
    },
    async labelValues(label, match) {
      return api<string[]>(`${url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
    },
    async rules() {
      const data = await api<{ groups: Array<{ rules: RuleState[] }> }>(`${url}/api/v1/rules`);
      return data.groups.flatMap((g) => g.rules);
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await spawned;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return server;
      if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s: ${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
}
