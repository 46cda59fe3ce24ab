// A realistic, reproducible stream of GitHub Actions deliveries built from the real
// example payloads (@octokit/webhooks-examples): varied runs, attempts, repositories,
// labels, runner groups and timestamps, with the disorder GitHub really produces
// (duplicates, completed before in_progress). Used by `runstream demo`, tests and
// benchmarks. Pure: the same seed gives the same stream.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Array<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

const groups = require('@octokit/webhooks-examples') as ExampleGroup[];

function template(event: 'workflow_run' | 'workflow_job', action: string): Json {
  const found = groups.find((g) => g.name === event)?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${event}.${action} example`);
  return found;
}

const TEMPLATES = {
  run: template('workflow_run', 'completed'),
  job: template('workflow_job', 'completed'),
};

export interface GeneratedDelivery {
  id: string;
  event: 'workflow_run' | 'workflow_job';
  action: string;
  payload: Json;
}

/** Mulberry32: small, fast, good enough for test data, and seedable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What really happened to one job, as the stream's events tell it (for oracles). */
export interface JobTruth {
  jobId: number;
  /** The job's name: the same in every attempt of it (matrix jobs have one per combination). */
  name: string;
  /** runs-on labels as the payloads list them. */
  labels: readonly string[];
  /** The runner group, once a runner took the job (null while queued or never taken). */
  runnerGroup: string | null;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  createdAtMs: number;
  /** When a runner started it (null when none did). */
  startedAtMs: number | null;
  completedAtMs: number | null;
}

/** What really happened to one run attempt and its jobs. */
export interface AttemptTruth {
  runId: number;
  attempt: number;
  repository: string;
  workflow: string;
  event: string;
  status: 'in_progress' | 'completed';
  conclusion: string | null;
  runStartedAtMs: number;
  /** updated_at of the completed event. */
  completedAtMs: number | null;
  jobs: JobTruth[];
}

export interface StreamOptions {
  seed?: number;
  runs?: number;
  maxJobsPerRun?: number;
  /** Share of deliveries sent twice (same delivery id), 0..1. */
  duplicateRate?: number;
  /** Share of runs whose events are shuffled, 0..1. */
  disorderRate?: number;
  /** Share of runs left unfinished (queued or running at the end). */
  unfinishedRate?: number;
  /**
   * Start of the simulated time window (ms); by default a day before the hour this
   * module was loaded, so that a stream sent live is recent (the processor refuses to
   * start an entity from an event older than the dedupe window) and the same seed
   * gives the same stream throughout a process.
   */
  startMs?: number;
  /** First run id; ids are consecutive from here. */
  firstRunId?: number;
  /**
   * Share of completed runs with a failed job that get one more attempt re-running only
   * the failed jobs ("Re-run failed jobs": the others keep their attempt), most of which
   * then succeed. 0 by default, which leaves the streams of every seed as they were.
   */
  rerunFailedRate?: number;
}

const HOUR_MS = 3_600_000;
const DEFAULT_START_MS = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;

const REPOSITORIES = ['octo-org/octo-repo', 'octo-org/api', 'octo-org/web', 'acme/infra', 'acme/mobile'];
const WORKFLOWS = ['CI', 'Deploy', 'Nightly', 'Lint'];
const EVENTS = ['push', 'pull_request', 'schedule', 'workflow_dispatch'];
const LABEL_SETS = [
  ['ubuntu-latest'],
  ['self-hosted', 'linux', 'x64'],
  ['windows-latest'],
  ['self-hosted', 'gpu'],
];
const RUNNER_GROUPS = ['Default', 'gpu-pool', 'GitHub Actions'];
const CONCLUSIONS = ['success', 'success', 'success', 'failure', 'cancelled', 'skipped'];

const iso = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function guid(random: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

function withRepository(payload: Json, fullName: string): Json {
  const [owner, name] = fullName.split('/') as [string, string];
  const repository = { ...(payload.repository as Json), full_name: fullName, name, owner: { login: owner } };
  return { ...payload, repository };
}

export function generateStream(options: StreamOptions = {}): GeneratedDelivery[] {
  return generateScenario(options).deliveries;
}

/** The stream and, beside it, the truth it encodes, for oracles that do not use the core. */
export function generateScenario(options: StreamOptions = {}): {
  deliveries: GeneratedDelivery[];
  truth: AttemptTruth[];
} {
  const truth: AttemptTruth[] = [];
  const random = seededRandom(options.seed ?? 1);
  const runs = options.runs ?? 20;
  const startMs = options.startMs ?? DEFAULT_START_MS;
  let jobId = (options.firstRunId ?? 7_000_000_000) * 10;
  const out: GeneratedDelivery[] = [];

  for (let r = 0; r < runs; r++) {
    const runId = (options.firstRunId ?? 7_000_000_000) + r;
    const repository = pick(random, REPOSITORIES);
    const workflow = pick(random, WORKFLOWS);
    const trigger = pick(random, EVENTS);
    let attempts = random() < 0.15 ? 2 : 1;
    const runEvents: GeneratedDelivery[] = [];
    let clock = startMs + Math.floor(random() * 3_600_000);
    const createdAt = clock;
    /** The jobs a "re-run failed jobs" attempt re-runs (their name, labels and group). */
    let rerunOnly: Array<{ name: string; labels: string[]; group: string }> | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const unfinished = attempt === attempts && random() < (options.unfinishedRate ?? 0.15);
      const runStartedAt = clock;
      const runPayload = (
        action: string,
        status: string,
        conclusion: string | null,
        updatedAt: number,
      ): GeneratedDelivery => ({
        id: guid(random),
        event: 'workflow_run',
        action,
        payload: withRepository(
          {
            ...TEMPLATES.run,
            action,
            workflow_run: {
              ...(TEMPLATES.run.workflow_run as Json),
              id: runId,
              run_attempt: attempt,
              name: workflow,
              event: trigger,
              status,
              conclusion,
              created_at: iso(createdAt),
              run_started_at: iso(runStartedAt),
              updated_at: iso(updatedAt),
            },
          },
          repository,
        ),
      });
      runEvents.push(runPayload('requested', 'queued', null, clock));
      const attemptTruth: AttemptTruth = {
        runId,
        attempt,
        repository,
        workflow,
        event: trigger,
        status: 'in_progress',
        conclusion: null,
        runStartedAtMs: runStartedAt,
        completedAtMs: null,
        jobs: [],
      };
      truth.push(attemptTruth);
      const rerun = rerunOnly;
      rerunOnly = null;
      const jobs = rerun ? rerun.length : 1 + Math.floor(random() * (options.maxJobsPerRun ?? 3));
      const failed: Array<{ name: string; labels: string[]; group: string }> = [];
      let runEnd = clock;
      for (let j = 0; j < jobs; j++) {
        jobId += 1;
        const picked = pick(random, LABEL_SETS);
        const pickedGroup = picked.includes('self-hosted')
          ? pick(random, RUNNER_GROUPS.slice(0, 2))
          : 'GitHub Actions';
        // A re-run job keeps its name, labels and runner group.
        const name = rerun ? rerun[j]!.name : `job-${j}`;
        const labels = rerun ? rerun[j]!.labels : picked;
        const group = rerun ? rerun[j]!.group : pickedGroup;
        const jobCreated = clock + Math.floor(random() * 5) * 1000;
        const queueMs = Math.floor(random() ** 2 * 600) * 1000;
        const started = jobCreated + queueMs;
        const durationMs = (5 + Math.floor(random() * 1800)) * 1000;
        const completed = started + durationMs;
        const drawn = pick(random, CONCLUSIONS);
        // Re-run failed jobs mostly succeed: the flakiness the counter is about.
        const conclusion = rerun ? (random() < 0.75 ? 'success' : 'failure') : drawn;
        const neverStarted = conclusion === 'cancelled' && random() < 0.5;
        const runner = `runner-${Math.floor(random() * 50)}`;
        const jobPayload = (action: string, status: string, extra: Json): GeneratedDelivery => ({
          id: guid(random),
          event: 'workflow_job',
          action,
          payload: withRepository(
            {
              ...TEMPLATES.job,
              action,
              workflow_job: {
                ...(TEMPLATES.job.workflow_job as Json),
                id: jobId,
                run_id: runId,
                run_attempt: attempt,
                workflow_name: workflow,
                name,
                labels,
                status,
                conclusion: null,
                created_at: iso(jobCreated),
                started_at: iso(jobCreated),
                completed_at: null,
                runner_id: null,
                runner_name: null,
                runner_group_id: null,
                runner_group_name: null,
                steps: [],
                ...extra,
              },
            },
            repository,
          ),
        });
        runEvents.push(jobPayload('queued', 'queued', {}));
        const jobTruth: JobTruth = {
          jobId,
          name,
          labels,
          runnerGroup: null,
          status: 'queued',
          conclusion: null,
          createdAtMs: jobCreated,
          startedAtMs: null,
          completedAtMs: null,
        };
        attemptTruth.jobs.push(jobTruth);
        if (unfinished && j === jobs - 1) {
          if (random() < 0.5) {
            Object.assign(jobTruth, { status: 'in_progress', runnerGroup: group, startedAtMs: started });
            runEvents.push(
              jobPayload('in_progress', 'in_progress', {
                started_at: iso(started),
                runner_name: runner,
                runner_id: 1,
                runner_group_name: group,
                runner_group_id: 1,
              }),
            );
          }
          continue;
        }
        if (neverStarted) {
          Object.assign(jobTruth, { status: 'completed', conclusion, completedAtMs: jobCreated + queueMs });
          runEvents.push(
            jobPayload('completed', 'completed', { conclusion, completed_at: iso(jobCreated + queueMs) }),
          );
          runEnd = Math.max(runEnd, jobCreated + queueMs);
          continue;
        }
        const assigned = { runner_name: runner, runner_id: 1, runner_group_name: group, runner_group_id: 1 };
        Object.assign(jobTruth, {
          status: 'completed',
          conclusion,
          runnerGroup: group,
          startedAtMs: started,
          completedAtMs: completed,
        });
        runEvents.push(jobPayload('in_progress', 'in_progress', { started_at: iso(started), ...assigned }));
        runEvents.push(
          jobPayload('completed', 'completed', {
            started_at: iso(started),
            completed_at: iso(completed),
            conclusion,
            ...assigned,
          }),
        );
        runEnd = Math.max(runEnd, completed);
        if (conclusion === 'failure') failed.push({ name, labels, group });
      }
      runEvents.push(runPayload('in_progress', 'in_progress', null, clock + 1000));
      if (!unfinished) {
        const conclusion = pick(random, ['success', 'success', 'failure', 'cancelled']);
        runEvents.push(runPayload('completed', 'completed', conclusion, runEnd));
        Object.assign(attemptTruth, { status: 'completed', conclusion, completedAtMs: runEnd });
        const rate = options.rerunFailedRate ?? 0;
        if (attempt === attempts && failed.length > 0 && rate > 0 && random() < rate) {
          attempts += 1;
          rerunOnly = failed;
        }
      }
      clock = runEnd + 60_000;
    }
    // Disorder within a run, as GitHub delivers it: order is not guaranteed.
    if (random() < (options.disorderRate ?? 0.3)) {
      for (let i = runEvents.length - 1; i > 0; i--) {
        const k = Math.floor(random() * (i + 1));
        [runEvents[i], runEvents[k]] = [runEvents[k]!, runEvents[i]!];
      }
    }
    for (const delivery of runEvents) {
      out.push(delivery);
      if (random() < (options.duplicateRate ?? 0.1)) out.push(delivery);
    }
  }
  return { deliveries: out, truth };
}
